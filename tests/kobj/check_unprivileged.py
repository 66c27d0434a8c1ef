#!/usr/bin/python3
"""An ordinary user's checkpoint and restart (run as uid 65534; /usr/bin/python3, standard
library only). The program (a tests/kobj program with one CKPT point) is run plainly
once as the reference, then again up to its point; cr_checkpoint --kill saves it; cr_restart
--no-restore-pid (an ordinary user cannot choose pids) brings it back under new pids; it
is released with SIGUSR2 and must print what the reference printed and exit 0.
Usage: check_unprivileged.py TOOLS PROGRAM [--cleanup-ipc]
--cleanup-ipc: remove, by id, the System V objects listed in the runs' ipc.ids files
(lines "sem|msg ID KEY") that still exist with that key, even on failure."""
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def fail(msg):
    raise SystemExit("FAIL: " + msg)


def syscall_of(pid):
    try:
        with open("/proc/%d/syscall" % pid) as f:
            return f.read().split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def children_of(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == ppid:
            out.append(int(d))
    return out


def reap_orphans():
    """Reaps killed processes reparented to us (the subreaper) until none has come for 0.3 s."""
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 0.3:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid:
            quiet_since = time.monotonic()
        else:
            time.sleep(0.01)


def wait_sigsuspend(pid, alive, what):
    end = time.monotonic() + 20
    while syscall_of(pid) != "130":  # rt_sigsuspend: waiting at the point
        if not alive() or time.monotonic() > end:
            fail("%s did not reach its point" % what)
        time.sleep(0.01)
    time.sleep(0.05)


class Run:
    def __init__(self, root, name, prog):
        self.dir = os.path.join(root, name)
        os.mkdir(self.dir)
        self.control = os.path.join(self.dir, "control")
        env = dict(os.environ, CRTEST_CONTROL=self.control, LC_ALL="C")
        self.out_path = os.path.join(self.dir, "stdout")
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen([prog], cwd=self.dir, env=env, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_point(self):
        end = time.monotonic() + 20
        while True:
            try:
                with open(self.control) as f:
                    if "CKPT 1\n" in f.read():
                        break
            except FileNotFoundError:
                pass
            if self.proc.poll() is not None or time.monotonic() > end:
                fail("program did not reach its point (%s)" % self.proc.poll())
            time.sleep(0.01)
        wait_sigsuspend(self.proc.pid, lambda: self.proc.poll() is None, "program")

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read()


def sysv_objects(kind):
    """{id: key} of the System V objects of a kind ("sem", "msg", "shm") now."""
    with open("/proc/sysvipc/%s" % kind) as f:
        next(f)
        return {int(c[1]): int(c[0]) for c in (line.split() for line in f)}


def plain_output(root, prog):
    """The program's output when it runs straight through: what a restart must reproduce."""
    ref = Run(root, "plain", prog)
    try:
        ref.wait_point()
        ref.proc.send_signal(signal.SIGUSR2)
        if ref.proc.wait(timeout=20) != 0:
            fail("plain run failed:\n" + ref.stdout().decode())
        return ref.stdout()
    finally:
        if ref.proc.poll() is None:
            ref.proc.kill()
            ref.proc.wait()


def checkpoint_kill(tools, run, img):
    """cr_checkpoint --kill of the run into img; then the killed run is waited for and reaped."""
    r = subprocess.run([os.path.join(tools, "cr_checkpoint"), "--kill", "-f", img, str(run.proc.pid)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail("cr_checkpoint as uid %d: exit %d: %s" % (os.getuid(), r.returncode, r.stderr))
    run.proc.wait(timeout=20)
    reap_orphans()


def reference_and_image(root, tools, prog):
    """The plain run's output, and the run checkpointed with --kill at its point into
    root/img: (output, run, img)."""
    want = plain_output(root, prog)
    run = Run(root, "restart", prog)
    run.wait_point()
    img = os.path.join(root, "img")
    checkpoint_kill(tools, run, img)
    return want, run, img


def check_same_output(want, got):
    if got != want:
        fail("output differs from the plain run:\n--- plain\n%s--- restart\n%s" % (want.decode(), got.decode()))


def end_scratch(root, ok):
    """Removes the scratch directory after a pass; keeps it, and says where, after a failure."""
    if ok:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print("scratch kept in %s" % root)


def remove_listed_ipc(root):
    for dirpath, _, files in os.walk(root):
        if "ipc.ids" not in files:
            continue
        with open(os.path.join(dirpath, "ipc.ids")) as f:
            for line in f:
                kind, ident, key = line.split()
                if sysv_objects(kind).get(int(ident)) == int(key):
                    subprocess.call(["ipcrm", "-s" if kind == "sem" else "-q", ident])
                    print("removed leftover System V %s %s" % (kind, ident))


def main():
    tools, prog = sys.argv[1], sys.argv[2]
    cleanup_ipc = "--cleanup-ipc" in sys.argv[3:]
    if os.getuid() == 0:
        fail("run this as an ordinary user (setpriv --reuid=65534 ...)")
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    root = tempfile.mkdtemp(prefix="crest-kobj-unpriv-")
    ok = False
    cr = None
    try:
        want, run, img = reference_and_image(root, tools, prog)
        cr = subprocess.Popen([os.path.join(tools, "cr_restart"), "--no-restore-pid", img], cwd=run.dir,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + 20
        while True:
            kids = children_of(cr.pid)
            if kids and syscall_of(kids[0]) == "130":
                break
            if cr.poll() is not None or time.monotonic() > end:
                fail("cr_restart --no-restore-pid did not bring the program back: %s" % cr.stderr.read().decode())
            time.sleep(0.01)
        time.sleep(0.05)
        os.kill(kids[0], signal.SIGUSR2)
        if cr.wait(timeout=30) != 0:
            fail("cr_restart: exit %d: %s" % (cr.returncode, cr.stderr.read().decode()))
        check_same_output(want, run.stdout())
        print("PASS")
        ok = True
    finally:
        if cr is not None and cr.poll() is None:
            for pid in children_of(cr.pid):  # restored processes left after a failure
                os.kill(pid, signal.SIGKILL)
            cr.kill()
            cr.wait()
        run = locals().get("run")
        if run is not None and run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()
        reap_orphans()
        if cleanup_ipc:
            remove_listed_ipc(root)
        end_scratch(root, ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
