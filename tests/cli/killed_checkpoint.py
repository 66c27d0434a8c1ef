#!/usr/bin/env python3
"""cr_checkpoint SIGKILLed at its N-th ptrace call (strace -e inject=ptrace:signal=SIGKILL)
for a 1-thread and a 2-thread target: the kernel detaches the target, which must run on
intact (tests/cli/intact.py) at every instant but two documented windows per process
(docs/design.md, "Interrupted checkpoints"): the injection area's own mmap and munmap,
each from the SETREGS that points the leader at a `syscall` instruction to the SETREGS
that puts its registers back (6 ptrace calls). A kill there is expected to leave the
leader with wrong registers; the test checks that the damaged instants are exactly
those: at most two runs of at most 6 consecutive calls, each ending at a PTRACE_SETREGS
following two PTRACE_SYSCALLs. A kill inside a batch leaves the 20 KiB area mapped
(the thread finishes the batch and resumes itself): the area count is not checked.

Every call that is not a PTRACE_SYSCALL inside a batch is a kill point, and every 16th
of those, and the first and last call of each window, to keep the run well under a
minute."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
import intact  # noqa: E402

WINDOW = 6


def kill_points(calls, windows):
    """Every call but the PTRACE_SYSCALLs inside a batch, of which the first two, the last
    two and every 16th; of each mmap/munmap window only its first and last call (a kill
    anywhere in it is expected to damage the leader; each costs a new target)."""
    points = []
    for i, req in enumerate(calls):
        if i + 1 in windows and i in windows and i + 2 in windows:
            continue
        if req == "PTRACE_SYSCALL":
            run_start = i
            while run_start > 0 and calls[run_start - 1] == "PTRACE_SYSCALL":
                run_start -= 1
            run_end = i
            while run_end + 1 < len(calls) and calls[run_end + 1] == "PTRACE_SYSCALL":
                run_end += 1
            if i - run_start >= 2 and run_end - i >= 2 and (i - run_start) % 16:
                continue
        points.append(i + 1)
    return points


def expected_windows(calls):
    """The ptrace call numbers N at which a kill falls inside an mmap/munmap injection:
    after its first SETREGS ran, before its last SETREGS ran."""
    out = set()
    for i in range(len(calls) - 4):
        # SETREGS(inject) SETSIGMASK SYSCALL SYSCALL GETREGS SETSIGMASK SETREGS(back)
        if calls[i:i + 7] == ["PTRACE_SETREGS", "PTRACE_SETSIGMASK", "PTRACE_SYSCALL", "PTRACE_SYSCALL",
                              "PTRACE_GETREGS", "PTRACE_SETSIGMASK", "PTRACE_SETREGS"]:
            out.update(range(i + 2, i + 2 + WINDOW))  # 1-based: calls i+2 .. i+7
    return out


def run_target(t, threads):
    s = intact.start_subject(t, threads, f"t{threads}")
    before = intact.snapshot(s.pid)
    work = t.mkdir(f"work{threads}")
    calls = intact.ptrace_calls(t, s.pid, work)
    windows = expected_windows(calls)
    points = kill_points(calls, windows)
    t.log(f"  {threads} thread(s): {len(calls)} ptrace calls, {len(points)} kill points, "
          f"mmap/munmap windows at {sorted(windows)}")
    t.check(len(windows) <= 2 * WINDOW, f"more than two injection windows: {sorted(windows)}")
    damaged = []
    for n in points:
        r = intact.checkpoint_with_signal_at(t, s.pid, n, "SIGKILL", work)
        t.check(r.rc == -9, f"SIGKILL at {n}: strace should report cr_checkpoint's death by SIGKILL: {r}")
        bad = intact.problems(t, s, before, check_areas=False)
        left = [f for f in os.listdir(work) if f != "img"]
        if bad:
            damaged.append(n)
            t.log(f"  kill at {n} ({calls[n - 1]}): {bad}")
            t.check(n in windows, f"{threads} thread(s), SIGKILL at ptrace call {n} ({calls[n - 1]}), outside the "
                                  f"documented windows: the target is not intact: {bad}")
            t.kill_subject(s)
            s = intact.start_subject(t, threads, f"t{threads}.{n}")
            before = intact.snapshot(s.pid)
        for f in left:
            os.unlink(os.path.join(work, f))
    t.log(f"  {threads} thread(s): damaged at {damaged} (all inside the windows)")
    t.kill_subject(s)


def body(t):
    t.require_root("reads the target's code through /proc/PID/mem")
    for threads in (1, 2):
        t.section(f"SIGKILL at every ptrace call, {threads}-thread target")
        run_target(t, threads)


if __name__ == "__main__":
    clitest.main(body)
