#!/usr/bin/python3
"""System V objects made again with their ids (root). programs/sysv_sem_msg is run
plainly once (the reference), then again up to its point and checkpointed with --kill.
Its semaphore set and message queue are then removed (ipcrm by id), and:
  1. another semaphore set takes the saved key: cr_restart must fail with 16 (EBUSY),
     naming the key, leave no restored process, and not make the queue;
  2. that set removed, cr_restart must make both objects again with their saved ids,
     and the program must finish with the reference's output.
Every object listed in ipc.ids, and the intruder, is removed by id at the end, even on
failure."""
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_unprivileged import (Run, check_same_output, checkpoint_kill, end_scratch, fail, plain_output,  # noqa: E402
                                reap_orphans, syscall_of, sysv_objects as objects)

IPC_CREAT, IPC_EXCL, IPC_RMID = 0o1000, 0o2000, 0


def main():
    tools, prog = sys.argv[1], sys.argv[2]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the program's child is reaped here
    root = tempfile.mkdtemp(prefix="crest-kobj-sysv-recreate-")
    listed, intruder, restored = [], None, []
    ok = False
    try:
        want = plain_output(root, prog)
        run = Run(root, "restart", prog)
        run.wait_point()
        with open(os.path.join(run.dir, "ipc.ids")) as f:
            listed = [(k, int(i), int(key)) for k, i, key in (l.split() for l in f)]
        img = os.path.join(root, "img")
        checkpoint_kill(tools, run, img)
        for kind, ident, key in listed:
            if objects(kind).get(ident) != key:
                fail("%s %d is gone after the checkpoint" % (kind, ident))
            subprocess.run(["ipcrm", "-s" if kind == "sem" else "-q", str(ident)], check=True)
        sem_id, sem_key = [(i, k) for kind, i, k in listed if kind == "sem"][0]
        msg_id, msg_key = [(i, k) for kind, i, k in listed if kind == "msg"][0]

        # 1. The key is taken by another set.
        intruder = libc.semget(sem_key, 1, IPC_CREAT | IPC_EXCL | 0o600)
        if intruder < 0:
            fail("semget for the intruder: errno %d" % ctypes.get_errno())
        r = subprocess.run([os.path.join(tools, "cr_restart"), img], capture_output=True, text=True, timeout=30)
        print("cr_restart with the key taken: exit %d: %s" % (r.returncode, r.stderr.strip()))
        if r.returncode != 16:
            fail("expected exit 16 (EBUSY), got %d" % r.returncode)
        if "%#x" % sem_key not in r.stderr or str(intruder) not in r.stderr:
            fail("the message should name the key %#x and the set %d holding it" % (sem_key, intruder))
        if os.path.exists("/proc/%d" % run.proc.pid):
            fail("a restored process %d is left after the refused restart" % run.proc.pid)
        if msg_id in objects("msg"):
            fail("the refused restart made the queue")
        libc.semctl(intruder, 0, IPC_RMID)
        intruder = None
        reap_orphans()

        # 2. Both gone: made again with their ids.
        cr = subprocess.Popen([os.path.join(tools, "cr_restart"), img], cwd=run.dir,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        restored.append(cr)
        end = time.monotonic() + 20
        while syscall_of(run.proc.pid) != "130":
            if cr.poll() is not None or time.monotonic() > end:
                fail("restart did not come up: %s" % cr.stderr.read().decode())
            time.sleep(0.01)
        if objects("sem").get(sem_id) != sem_key or objects("msg").get(msg_id) != msg_key:
            fail("objects not made again with their ids: sem %s, msg %s" % (objects("sem"), objects("msg")))
        print("semaphore set %d and queue %d made again with their ids" % (sem_id, msg_id))
        os.kill(run.proc.pid, signal.SIGUSR2)
        if cr.wait(timeout=20) != 0:
            fail("cr_restart: exit %d: %s" % (cr.returncode, cr.stderr.read().decode()))
        check_same_output(want, run.stdout())
        print("PASS")
        ok = True
    finally:
        for cr in restored:
            if cr.poll() is None:
                cr.kill()
                cr.wait()
        if intruder is not None:
            libc.semctl(intruder, 0, IPC_RMID)
        for kind, ident, key in listed:
            if objects(kind).get(ident) == key:
                subprocess.call(["ipcrm", "-s" if kind == "sem" else "-q", str(ident)])
        end_scratch(root, ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
