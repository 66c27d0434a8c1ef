#!/usr/bin/env python3
"""cr_checkpoint interrupted by SIGTERM, SIGINT, SIGHUP or SIGQUIT (a batch system,
Ctrl-C, a timeout) undoes its session and dies of that signal: the target runs on
intact (its output goes on and its own checksums hold, every thread's signal mask and
the executable bytes are as they were, no memory area is left behind, not traced) and
no temporary .img.tmp is left. strace delivers the signal as cr_checkpoint enters its
N-th ptrace call, for N across the whole ptrace conversation (seizing, the injected
syscall batches of a 2-thread target, detaching), once with -d (no .context.PID.tmp
left), and once while the image write is blocked on a full pipe."""
import os
import signal
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
import intact  # noqa: E402


def body(t):
    t.require_root("reads the target's code through /proc/PID/mem")
    s = intact.start_subject(t, 2, "thr")
    before = intact.snapshot(s.pid)
    work = t.mkdir("work")
    calls = intact.ptrace_calls(t, s.pid, work)
    total = len(calls)
    t.log(f"  one checkpoint makes {total} ptrace calls")
    # The first injection (the area's mmap: SETREGS, SETSIGMASK, SYSCALL...), the middle
    # of the first batch, and points spread over the whole conversation.
    first_setregs = calls.index("PTRACE_SETREGS") + 1
    points = sorted({1, 2, 3, first_setregs, first_setregs + 2, first_setregs + 5, first_setregs + 12,
                     total // 4, total // 2, 3 * total // 4, total - 2, total})
    sigs = {p: "SIGTERM" for p in points}
    sigs[total // 3] = "SIGINT"
    sigs[total // 2 + 1] = "SIGHUP"
    sigs[2 * total // 3] = "SIGQUIT"
    for n, sig in sorted(sigs.items()):
        t.section(f"{sig} at ptrace call {n} of {total}")
        r = intact.checkpoint_with_signal_at(t, s.pid, n, sig, work)
        signo = signal.Signals[sig].value
        t.check(r.rc == -signo, f"{sig} at {n}: cr_checkpoint should die of {sig}: {r}")
        left = sorted(os.listdir(work))
        t.check(".img.tmp" not in left, f"{sig} at {n}: the temporary image is left behind: {left}")
        bad = intact.problems(t, s, before)
        t.check(not bad, f"{sig} at {n}: the target is not intact: {bad}")
        if bad:
            break
        if os.path.exists(os.path.join(work, "img")):
            os.unlink(os.path.join(work, "img"))

    t.section("-d: SIGTERM at the 20th write (the split's files exist); no .context.PID.tmp left")
    # The engine may have finished by the time it looks (then the images are whole and
    # kept: an after-action such as --kill may already have run); never a temporary file.
    images = t.mkdir("images")
    r = t.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=write",
               "-e", "inject=write:signal=SIGTERM:when=20", t.cr_checkpoint, "-d", images, s.pid], timeout=60)
    t.check(r.rc == -signal.SIGTERM, f"-d, SIGTERM at the 20th write: cr_checkpoint should die of SIGTERM: {r}")
    left = [f for f in os.listdir(images) if f.endswith(".tmp")]
    t.check(not left, f"-d, SIGTERM at the 20th write: temporary files left: {left}")
    bad = intact.problems(t, s, before)
    t.check(not bad, f"-d, SIGTERM at the 20th write: the target is not intact: {bad}")

    t.section("SIGTERM while the image write is blocked on a full pipe")
    dump = clitest.BlockedDump(t, s.pid)
    try:
        dump.require_blocked(s.pid, "the dump")
        os.kill(dump.proc.pid, signal.SIGTERM)
        r = dump.proc.wait(10)
        t.check(r.rc == -signal.SIGTERM, f"cr_checkpoint blocked on its pipe should die of SIGTERM: {r}")
        t.check("interrupted by SIGTERM" in r.err, f"no message saying the checkpoint was abandoned: {r}")
    finally:
        dump.drain()
        dump.close()
    bad = intact.problems(t, s, before)
    t.check(not bad, f"after SIGTERM on a blocked write: the target is not intact: {bad}")


if __name__ == "__main__":
    clitest.main(body)
