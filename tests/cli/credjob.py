"""Shared pieces of the credential tests (root_restarts_user, restart_trust,
restart_killed_early): the creds_job subject (programs/creds_job.c), its ready
point, the credentials of every task from /proc/PID/task/TID/status, and one
checkpoint/restart cycle compared with an uninterrupted run."""
import os
import signal

import clitest

NR_READ = 0
NR_RT_SIGTIMEDWAIT = 128
CRED_KEYS = ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def wait_syscall(pid, tid):
    try:
        with open(f"/proc/{pid}/task/{tid}/syscall") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def tasks(pid):
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return []


def job_pids(main_pid):
    """The job's processes: main and, in fork mode, its live children."""
    return [main_pid] + [st.pid for st in clitest.children_of(main_pid) if st.state not in ("Z", "X")]


def ready(main_pid, forked):
    """Every task waits at its point: main in sigwaitinfo, the second task in read()."""
    pids = job_pids(main_pid)
    if len(pids) != (2 if forked else 1):
        return False
    if any(clitest.tracer_pid(p) != 0 for p in pids):
        return False
    waits = [wait_syscall(p, t) for p in pids for t in tasks(p)]
    if None in waits:  # running, or gone
        return False
    return sorted(waits) == sorted([NR_RT_SIGTIMEDWAIT, NR_READ])


def credentials(main_pid):
    """[(role, {key: value})] of every task, in a stable order (process, then tid)."""
    out = []
    for i, pid in enumerate(job_pids(main_pid)):
        for j, tid in enumerate(tasks(pid)):
            fields = {}
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in CRED_KEYS:
                        fields[key] = value.strip()
            out.append((f"process {i} task {j} ({pid}/{tid})", fields))
    return out


def wait_ready(t, main_pid, forked, what, timeout=15):
    t.require(clitest.wait_for(lambda: ready(main_pid, forked), timeout),
              f"{what}: the job did not reach its point (pid {main_pid})")


def restored_main(t, rp, pid=None):
    return t.require_restored(rp, "creds_job", "the job did not come back under cr_restart", pid=pid)


def release(t, main_pid):
    os.kill(main_pid, signal.SIGUSR2)


def reference(t, argv, name, forked, user=False, file_mode=None):
    """An uninterrupted run: its output."""
    job = t.spawn(argv, name=name, user=user)
    wait_ready(t, job.pid, forked, "reference run")
    release(t, job.pid)
    r = job.wait(10)
    t.require(r.rc == 0, f"reference run failed: {r}")
    return job.text()


def compare_credentials(t, label, before, after):
    t.check(len(before) == len(after), f"{label}: {len(before)} tasks before, {len(after)} after")
    for (role_b, b), (role_a, a) in zip(before, after):
        t.check(b == a, f"{label}: {role_a} has credentials {a}, saved {b} ({role_b})")


def remember(job):
    """Keeps the credentials of the job's tasks at its point, for after a restart."""
    job.saved_credentials = credentials(job.pid)


def credentials_of_saved(job):
    return job.saved_credentials
