#!/usr/bin/env python3
"""cr_restart killed at its earliest instants leaves nothing of the job (issue 12).

strace kills cr_restart (SIGKILL injected at a syscall: no handler runs) at its first
wait4 (the stub exists, between its clone and its PTRACE_TRACEME stop), at its first
ptrace call (the stub is traced but PTRACE_O_EXITKILL is not set yet), at its second
(just after), and at later ones (children and threads being made). Each time, within
a few seconds, no process of the image may exist: no new process under us (we are the
subreaper that would inherit orphans), the image's pids free, and the job's output
without a second start (a stub released before its restore execs the program from its
beginning, with the image's pid and descriptors: a second copy of the job). Also with
--no-restore-pid.

Before the fix, a kill at the first ptrace call released the stub, which ran the job
again from its start."""
import os
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
import credjob  # noqa: E402

POINTS = [("wait4", 1), ("ptrace", 1), ("ptrace", 2), ("ptrace", 30), ("ptrace", 120)]


def body(t):
    t.require_root("the job is restored with its pids")
    strace = shutil.which("strace")
    t.require(strace, "strace is needed to kill cr_restart at exact syscalls (scripts/deps installs it)")
    job_bin = t.helper("creds_job")
    job = t.spawn([job_bin, "fork"], name="job")
    credjob.wait_ready(t, job.pid, True, "job")
    pids = credjob.job_pids(job.pid)
    img = t.path("job.img")
    r = t.run([t.cr_checkpoint, "--tree", "--kill", "-f", img, job.pid])
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    job.wait(10)
    for p in pids:
        t.wait_pid_free(p)
    starts = job.text().count("main start")
    for extra in ([], ["--no-restore-pid"]):
        for call, when in POINTS:
            label = f"cr_restart {' '.join(extra)} killed at {call} #{when}"
            t.section(label)
            before = set(t.live_descendants())
            r = t.run([strace, "-qq", "-o", "/dev/null", "-e", f"trace={call}",
                       "-e", f"inject={call}:signal=SIGKILL:when={when}", t.cr_restart, *extra, img], timeout=30)
            t.check(r.rc != 0, f"{label}: cr_restart should have been killed: {r}")
            t.check_no_new_processes(before, label, grace=3.0)
            for p in pids:
                t.check(t.wait_pid_free(p, timeout=3), f"{label}: pid {p} of the image is in use: "
                        f"{clitest.read_stat(p)}")
            t.check(job.text().count("main start") == starts,
                    f"{label}: the job ran again from its start:\n{job.text()}")
    t.section("the image still restarts")
    rp = t.start([t.cr_restart, img])
    st = t.wait_restored(rp, "creds_job", pid=job.pid)
    t.require(st, f"the job did not come back: {rp.wait(5)}")
    credjob.wait_ready(t, st.pid, True, "restored job")
    credjob.release(t, st.pid)
    r = rp.wait(15)
    t.check(r.rc == 0, f"cr_restart should exit 0 as the job does: {r}")


if __name__ == "__main__":
    clitest.main(body)
