#!/usr/bin/env python3
"""Bad input for crest: a process holding a listening TCP socket (127.0.0.1, at
fd >= 3) with a connection not yet accepted cannot be checkpointed (crest
restores listeners, not the connections waiting in their queue).

Runs programs/tcp_hold (built by tests/kobj/CMakeLists.txt) and, while it
waits at its checkpoint point, runs cr_checkpoint on it with no after-action,
with --kill and with --stop. Each must:
  - exit non-zero (not die of a signal),
  - print a message naming the holder's pid and "fd <n>" (the socket's fd),
  - leave no image (the -f path does not exist, nothing new in the directory),
  - leave every process of the program running: not stopped, not traced,
    not killed.
The program is then released and must finish normally (its TCP listener
still accepting) with exit 0 and PASS.

--case self: the program itself holds the socket at fd 7.
--case child: a child forked before the point holds it at fd 9; the
checkpoint (of the tree, from the parent) must name the child's pid.

Exit status: 0 pass, 1 fail. On failure the scratch directory is kept.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NR_READ = 0
NR_RT_SIGSUSPEND = 130


def status(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def syscall_nr(pid):
    try:
        with open("/proc/%d/syscall" % pid) as f:
            first = f.read().split()[0]
        return int(first)
    except (OSError, ValueError, IndexError):
        return None


class Check:
    def __init__(self, args):
        self.args = args
        self.t0 = time.monotonic()
        self.problems = []
        self.root = tempfile.mkdtemp(prefix="crest-kobj-tcp-%s-" % args.case)
        self.proc = None

    def log(self, msg):
        print("[%7.3f] %s" % (time.monotonic() - self.t0, msg), flush=True)

    def fail(self, msg):
        self.log("FAIL: " + msg)
        self.problems.append(msg)

    def control(self):
        try:
            with open(os.path.join(self.root, "control")) as f:
                return f.read().split("\n")[:-1]
        except FileNotFoundError:
            return []

    def wait_for(self, what, cond, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("program ended (%s) while waiting for %s" % (
                    self.proc.returncode, what))
            if cond():
                return
            time.sleep(0.01)
        raise RuntimeError("timeout waiting for %s" % what)

    def check_running(self, pid, what, blocked_in):
        st = status(pid)
        if st is None:
            self.fail("%s (pid %d) is gone" % (what, pid))
            return
        state = st.get("State", "?")
        if state[:1] not in "SR":
            self.fail("%s (pid %d) is not running: State %s" % (what, pid, state))
        if st.get("TracerPid") != "0":
            self.fail("%s (pid %d) is still traced by %s" % (what, pid, st.get("TracerPid")))
        nr = syscall_nr(pid)
        if nr != blocked_in:
            # Brief ptrace stops make this transient; look again before failing.
            time.sleep(0.2)
            nr = syscall_nr(pid)
            if nr != blocked_in:
                self.fail("%s (pid %d) is in syscall %s, expected %d" % (
                    what, pid, nr, blocked_in))

    def run(self):
        a = self.args
        prog = os.path.abspath(a.prog)
        ckpt = os.path.join(os.path.abspath(a.tools), "cr_checkpoint")
        for p in (prog, ckpt):
            if not os.access(p, os.X_OK):
                raise RuntimeError("%s missing or not executable" % p)
        env = dict(os.environ, CRTEST_CONTROL=os.path.join(self.root, "control"), LC_ALL="C")
        out = open(os.path.join(self.root, "stdout"), "wb")
        err = open(os.path.join(self.root, "stderr"), "wb")
        self.proc = subprocess.Popen([prog, a.case], cwd=self.root, env=env,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        out.close()
        err.close()
        top = self.proc.pid
        self.log("started %s %s: pid %d" % (prog, a.case, top))

        holder = [None, None]

        def ready():
            lines = self.control()
            for l in lines:
                m = re.fullmatch(r"HOLDER (\d+) (\d+)", l)
                if m:
                    holder[0], holder[1] = int(m.group(1)), int(m.group(2))
            if holder[0] is None or "CKPT 1" not in lines:
                return False
            st = status(top)
            if st is None or not int(st.get("SigCgt", "0"), 16) & (1 << (signal.SIGUSR2 - 1)):
                return False
            if syscall_nr(top) != NR_RT_SIGSUSPEND:
                return False
            return holder[0] == top or syscall_nr(holder[0]) == NR_READ
        self.wait_for("the checkpoint point", ready)
        hpid, hfd = holder
        self.log("program at its point; TCP socket held by pid %d at fd %d" % (hpid, hfd))
        if hfd < 3:
            raise RuntimeError("the TCP socket is at fd %d, not above 2" % hfd)
        try:
            target = os.readlink("/proc/%d/fd/%d" % (hpid, hfd))
        except OSError as e:
            raise RuntimeError("fd %d of pid %d: %s" % (hfd, hpid, e))
        self.log("pid %d fd %d -> %s" % (hpid, hfd, target))

        before = sorted(os.listdir(self.root))
        for k, extra in enumerate(([], ["--kill"], ["--stop"])):
            img = os.path.join(self.root, "img-%d" % k)
            argv = [ckpt] + extra + ["-f", img, str(top)]
            self.log("running %s" % " ".join(argv))
            try:
                r = subprocess.run(argv, cwd=self.root, stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=30)
            except subprocess.TimeoutExpired:
                self.fail("%s: timed out" % " ".join(argv))
                continue
            msg = (r.stdout + r.stderr).decode("utf-8", "replace")
            self.log("cr_checkpoint %s exit %d, output:\n%s" % (
                " ".join(extra) or "(no after-action)", r.returncode, msg.rstrip()))
            label = "cr_checkpoint %s" % (" ".join(extra) or "(no after-action)")
            if r.returncode == 0:
                self.fail("%s succeeded on a process with a TCP socket" % label)
            elif r.returncode < 0:
                self.fail("%s died of signal %d" % (label, -r.returncode))
            if not re.search(r"(?<!\d)%d(?!\d)" % hpid, msg):
                self.fail("%s: message does not name pid %d" % (label, hpid))
            if not re.search(r"\bfd\s*%d\b" % hfd, msg):
                self.fail("%s: message does not name fd %d" % (label, hfd))
            if os.path.lexists(img):
                self.fail("%s left an image at %s (%d bytes)" % (
                    label, img, os.path.getsize(img)))
            now = sorted(os.listdir(self.root))
            if now != before:
                self.fail("%s changed the directory: %s -> %s" % (label, before, now))
                before = now
            time.sleep(0.05)
            self.check_running(top, "program", NR_RT_SIGSUSPEND)
            if hpid != top:
                self.check_running(hpid, "child holding the socket", NR_READ)

        # Release the program: it must go on as if nothing happened.
        os.kill(top, signal.SIGUSR2)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("program did not finish after SIGUSR2")
            return
        with open(os.path.join(self.root, "stdout"), "rb") as f:
            stdout = f.read().decode("utf-8", "replace")
        self.log("program exit %d, stdout:\n%s" % (rc, stdout.rstrip()))
        who = "self" if a.case == "self" else "child"
        want = "%s: tcp listener still works: yes\n" % who
        if rc != 0:
            self.fail("program exit status %d after release" % rc)
        if want not in stdout or not stdout.endswith("PASS\n"):
            self.fail("program output after release lacks %r or PASS" % want.strip())
        if a.case == "child" and "child exit 0\n" not in stdout:
            self.fail("child did not exit 0")

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            # Kill the program and the child it forked (by pid).
            for l in self.control():
                m = re.fullmatch(r"HOLDER (\d+) (\d+)", l)
                if m and int(m.group(1)) != self.proc.pid:
                    try:
                        os.kill(int(m.group(1)), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            self.proc.kill()
            self.proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tools", required=True, help="directory with cr_checkpoint")
    ap.add_argument("--prog", required=True, help="the tcp_hold program")
    ap.add_argument("--case", choices=("self", "child"), default="self")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    c = Check(args)
    try:
        c.run()
    except RuntimeError as e:
        c.fail(str(e))
    finally:
        c.cleanup()
    if c.problems:
        for name in ("stdout", "stderr", "control"):
            p = os.path.join(c.root, name)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    print("----- %s -----\n%s" % (name, f.read().decode("utf-8", "replace")))
        print("FAIL: %d problem(s):\n  %s" % (len(c.problems), "\n  ".join(c.problems)))
        print("scratch dir kept: %s" % c.root)
        return 1
    if args.keep:
        print("scratch dir kept: %s" % c.root)
    else:
        shutil.rmtree(c.root, ignore_errors=True)
    print("PASS: sock_tcp_refused/%s" % args.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
