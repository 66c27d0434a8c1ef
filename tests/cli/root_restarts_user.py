#!/usr/bin/env python3
"""Root restarts another user's job (issue 10): a two-process and a two-thread job of
uid 65534 (setpriv), one whose threads and processes hold different ids (real,
effective, saved, fs uids and gids, supplementary groups: set per thread with raw
syscalls), and a root job with supplementary groups, a cut bounding set, inheritable
and ambient capabilities and securebits. Each is checkpointed (--kill) by root at its
point and restarted by root, with its pids and with --no-restore-pid. Every restored
task must have exactly the credentials it had (/proc/PID/task/TID/status), and the
job's output (each task prints its own credentials and securebits before and after)
must equal an uninterrupted run's.

Before the fix, cr_restart gave the saved uid to the stub before it made the children
and threads with set_tid: `clone3 of process N: Operation not permitted` (or EPERM in
setgroups with --no-restore-pid), and a root process kept cr_restart's groups."""
import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
import credjob  # noqa: E402


def cases(job):
    caps = ["setpriv", "--groups", "4,24", "--bounding-set", "-net_raw,-sys_time", "--inh-caps",
            "+net_bind_service", "--ambient-caps", "+net_bind_service", "--securebits", "+no_setuid_fixup"]
    return [
        # name, argv, forked, user (setpriv to 65534)
        ("user_fork", [job, "fork"], True, True),
        ("user_thread", [job, "thread"], False, True),
        ("mixed_fork", [job, "fork", "mixed"], True, False),
        ("mixed_thread", [job, "thread", "mixed"], False, False),
        ("root_caps", caps + [job, "thread"], False, False),
    ]


def cycle(t, name, argv, forked, user, extra, ref):
    label = f"{name} {' '.join(extra) or 'restore-pid'}"
    t.section(label)
    job = t.spawn(argv, name=f"{name}-{len(extra)}", user=user)
    for suffix in ("out", "err"):  # the mixed jobs' tasks reopen them as uids 65534 and 65532
        os.chmod(t.path(f"{name}-{len(extra)}.{suffix}"), 0o666)
    credjob.wait_ready(t, job.pid, forked, label)
    before = credjob.credentials(job.pid)
    img = t.path(f"{name}-{len(extra)}.img")
    r = t.run([t.cr_checkpoint, "--tree", "--kill", "-f", img, job.pid])
    t.require(r.rc == 0, f"{label}: checkpoint failed: {r}")
    job.wait(10)
    t.wait_pid_free(job.pid)
    rp = t.start([t.cr_restart, *extra, img])
    st = t.wait_restored(rp, "creds_job", pid=None if extra else job.pid)
    if not st:
        rp.kill()
        t.check(False, f"{label}: the job did not come back: {rp.wait(5)}")
        return
    credjob.wait_ready(t, st.pid, forked, f"{label} after the restart")
    after = credjob.credentials(st.pid)
    credjob.compare_credentials(t, label, before, after)
    credjob.release(t, st.pid)
    r = rp.wait(15)
    t.check(r.rc == 0, f"{label}: cr_restart should exit 0 as the job does: {r}")
    t.check(job.text() == ref, f"{label}: output differs from the uninterrupted run:\n{job.text()}\n--- expected:\n{ref}")


def body(t):
    t.require_root("root restarts jobs of uid 65534 and of several ids")
    job = t.helper("creds_job")
    for name, argv, forked, user in cases(job):
        ref = credjob.reference(t, argv, f"{name}-ref", forked, user=user)
        for extra in ([], ["--no-restore-pid"]):
            cycle(t, name, argv, forked, user, extra, ref)


if __name__ == "__main__":
    clitest.main(body)
