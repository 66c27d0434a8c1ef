#!/usr/bin/env python3
"""A process whose parent was init goes back to the child reaper at restart, as BLCR's
did ("processes that were children of init at checkpoint become children of init"),
and cr_restart, left without a child to mirror, exits 0 right after the restart.

The script re-runs itself as the init of a private pid namespace (unshare --pid --fork
--mount-proc), so "init" is this script, which reaps. A double-forked daemon (parent
1) and, in a second case, a daemon with a child of its own are checkpointed with --kill
and restarted: the daemon must run with its pid, with parent 1, its child still its
child; cr_restart must have exited 0; when the daemon is killed, this script (its
parent) reaps it. Before the fix the daemon came back as cr_restart's child and
cr_restart stayed to mirror it."""
import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

# A daemon: fork, the middle process exits, the grandchild prints its pid (and, with
# "child", forks a child of its own) and sleeps.
DAEMON = r"""
import os, sys, time
if os.fork() == 0:
    if sys.argv[1] == "child":
        c = os.fork()
        if c == 0:
            while True: time.sleep(1000)
        print("daemon", os.getpid(), c, flush=True)
    else:
        print("daemon", os.getpid(), 0, flush=True)
    while True: time.sleep(1000)
"""

def case(t, kind):
    t.section(f"a daemon whose parent is init ({kind})")
    script = t.path("daemon.py")
    with open(script, "w") as f:
        f.write(DAEMON)
    s = t.spawn(["python3", script, kind], name=f"daemon_{kind}")
    t.wait_output(s, lambda: any(l.startswith("daemon ") for l in s.lines()), "the daemon's pid")
    _, daemon, child = (int(x) if x.isdigit() else x for x in
                        next(l for l in s.lines() if l.startswith("daemon ")).split())
    s.wait(5)
    t.track_pid(daemon, "python3")
    t.require(clitest.read_stat(daemon).ppid == 1, f"daemon {daemon} is not a child of init: {t.state_desc(daemon)}")
    img = t.path(f"{kind}.img")
    r = t.run([t.cr_checkpoint, "--kill", "--tree", "-f", img, daemon])
    t.require(r.rc == 0, f"cr_checkpoint --kill --tree {daemon}: {r}")
    for pid in [daemon] + ([child] if child else []):
        t.require(t.wait_pid_free(pid), f"process {pid} is still there after cr_checkpoint --kill")

    rp = t.start([t.cr_restart, img])
    t.require(clitest.wait_for(lambda: clitest.is_alive(daemon) and clitest.tracer_pid(daemon) == 0, 20),
              f"daemon {daemon} was not restored: {t.state_desc(daemon)}")
    st = clitest.read_stat(daemon)
    t.check(st.ppid == 1, f"the restored daemon's parent is {st.ppid}, not init (1)")
    r = rp.wait(10)
    t.check(r.rc == 0, f"cr_restart should exit 0 right after restoring an orphan (BLCR): {r}")
    if r.rc is None:
        rp.kill()
    if child:
        cst = clitest.read_stat(child)
        t.check(cst is not None and cst.ppid == daemon, f"the daemon's child {child} is {cst}, not the daemon's child")
    t.check(st.state in ("S", "R"), f"the restored daemon is in state {st.state}")

    t.section(f"the reaper reaps it ({kind})")
    os.kill(daemon, signal.SIGKILL)
    deadline = time.time() + 10
    reaped = None
    while time.time() < deadline:
        try:
            got, status = os.waitpid(daemon, os.WNOHANG)
        except ChildProcessError:
            break  # not our child
        if got == daemon:
            reaped = status
            break
        time.sleep(0.02)
    t.check(reaped is not None and os.WIFSIGNALED(reaped) and os.WTERMSIG(reaped) == signal.SIGKILL,
            f"init (this script) could not reap the restored daemon {daemon} killed by SIGKILL: {reaped}")
    if child:
        os.kill(child, signal.SIGKILL)
        t.wait_pid_free(child)


def body(t):
    t.require_root("restoring the saved pids needs CAP_CHECKPOINT_RESTORE")
    t.require(os.getpid() == 1, "not the init of a private pid namespace")
    case(t, "alone")
    case(t, "child")


if __name__ == "__main__":
    clitest.enter_private_pid_namespace()
    clitest.main(body)
