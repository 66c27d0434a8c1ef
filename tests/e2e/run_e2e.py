#!/usr/bin/env python3
"""Runs one crest end-to-end test: one program in one checkpoint mode.

The program reports checkpoint points by appending lines to $CRTEST_CONTROL:
"CKPT n" (it then waits for SIGUSR2) or a marker word (LOOP, SLEEP, PAUSE,
READ, LOOPDONE). The runner checkpoints/restarts it as the mode says and
compares its stdout and exit status with a plain run done first.

Modes: plain (no checkpoint), restart (checkpoint --kill + cr_restart at every
point), continue (checkpoint, process goes on), repeat (5 kill/restart cycles
at the first point), twice (restart the same image two times), random (like
restart at the first point, after a random 0.2-1.5 s delay for LOOP).

Multi-threaded programs: the point's syscall is looked for in the main thread
(the thread-group leader) unless --point-thread any is given, which accepts it
in any thread (and then also wants every thread untraced).

Exit status: 0 pass, 1 fail, 2 usage error, 77 skipped.
"""

import argparse
import ctypes
import difflib
import os
import random
import shutil
import signal
import sys
import tempfile
import termios
import time

MODES = ("plain", "restart", "continue", "repeat", "twice", "random")

# x86-64 syscall numbers seen in /proc/PID/syscall while blocked.
NR_READ = 0
NR_PAUSE = 34
NR_NANOSLEEP = 35
NR_RT_SIGSUSPEND = 130
NR_RESTART_SYSCALL = 219
NR_CLOCK_NANOSLEEP = 230

# Syscalls a program sits in at each kind of point.
BLOCKED_IN = {
    "CKPT": {NR_RT_SIGSUSPEND},
    "PAUSE": {NR_PAUSE},
    "READ": {NR_READ},
    "SLEEP": {NR_NANOSLEEP, NR_CLOCK_NANOSLEEP, NR_RESTART_SYSCALL},
}
# Signal the program must have a handler for before it is released.
CAUGHT = {"CKPT": signal.SIGUSR2, "PAUSE": signal.SIGUSR1}
ACTIONABLE = ("CKPT", "LOOP", "SLEEP", "PAUSE", "READ")

REPEAT_COUNT = 5
LOOP_DELAY = 0.7          # fixed delay after LOOP in non-random modes
SLEEP_DELAY = 0.5         # delay after SLEEP before checkpointing
RANDOM_DELAY = (0.2, 1.5)
TTY_INPUT = b"hello\n"

PR_SET_CHILD_SUBREAPER = 36


class TestFailure(Exception):
    pass


class Skip(Exception):
    pass


def describe_status(st):
    if st is None:
        return "not exited"
    if os.WIFEXITED(st):
        return "exit %d" % os.WEXITSTATUS(st)
    if os.WIFSIGNALED(st):
        sig = os.WTERMSIG(st)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return "killed by %s%s" % (name, " (core)" if os.WCOREDUMP(st) else "")
    return "status 0x%x" % st


def norm_status(st):
    """Comparable form of a wait status."""
    if os.WIFEXITED(st):
        return ("exit", os.WEXITSTATUS(st))
    if os.WIFSIGNALED(st):
        return ("signal", os.WTERMSIG(st))
    return ("raw", st)


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def proc_status(pid):
    """Fields of /proc/PID/status, or None if the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def proc_syscall(pid, tid=None):
    """Syscall number PID (or its thread TID) is blocked in, "running", or None."""
    path = "/proc/%d/syscall" % pid if tid is None else "/proc/%d/task/%d/syscall" % (pid, tid)
    try:
        with open(path) as f:
            text = f.read().split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    if not text:
        return None
    if text[0] == "running":
        return "running"
    try:
        return int(text[0])
    except ValueError:
        return None


def proc_tasks(pid):
    """Thread ids of pid ([] if it is gone)."""
    try:
        return sorted(int(t) for t in os.listdir("/proc/%d/task" % pid) if t.isdigit())
    except (FileNotFoundError, ProcessLookupError):
        return []


def tasks_at_point(pid, want):
    """For --point-thread any: True when some thread of pid is blocked in one of
    the syscalls in want and no thread is traced."""
    found = False
    for tid in proc_tasks(pid):
        try:
            with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
                traced = any(l.startswith("TracerPid:") and l.split()[1] != "0"
                             for l in f)
        except (FileNotFoundError, ProcessLookupError):
            continue
        if traced:
            return False
        if proc_syscall(pid, tid) in want:
            found = True
    return found


def all_processes():
    """{pid: ppid} for every process in /proc."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rfind(")") + 2:].split()
        if len(rest) >= 2:
            out[int(name)] = int(rest[1])
    return out


class Run:
    """One execution of the program in its own directory."""

    def __init__(self, root, name):
        self.name = name
        self.dir = os.path.join(root, name)
        os.mkdir(self.dir)
        self.stdout = os.path.join(self.dir, "stdout")
        self.stderr = os.path.join(self.dir, "stderr")
        self.control = os.path.join(self.dir, "control")
        self.consumed = 0

    def control_lines(self):
        data = read_bytes(self.control) or b""
        lines = data.decode("utf-8", "replace").split("\n")
        return lines[:-1]    # only complete lines

    def snapshot(self, dest):
        """Copies the run directory (files the program wrote) to dest."""
        shutil.copytree(self.dir, dest, symlinks=True)

    def restore(self, src):
        """Puts the run directory back as it was in snapshot src."""
        for entry in os.listdir(self.dir):
            path = os.path.join(self.dir, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        for entry in os.listdir(src):
            s, d = os.path.join(src, entry), os.path.join(self.dir, entry)
            if os.path.isdir(s) and not os.path.islink(s):
                shutil.copytree(s, d, symlinks=True)
            else:
                shutil.copy2(s, d, follow_symlinks=False)


class Runner:
    def __init__(self, args, root):
        self.args = args
        self.root = root
        self.t0 = time.monotonic()
        self.deadline = self.t0 + args.timeout
        self.exited = {}         # pid -> wait status, reaped but not consumed
        self.roles = {}          # pid -> what it is, for messages
        self.me = os.getpid()
        self.rng = random.Random(args.seed)
        self.seq = 0
        self.checkpoints = 0
        self.aux = os.path.join(root, "aux")
        os.mkdir(self.aux)
        self.pty_master = self.pty_slave = None
        self.devnull = os.open("/dev/null", os.O_RDWR)
        self.expect_word = b"done" if args.prog.endswith(".py") else b"PASS"

        prog = os.path.abspath(args.prog)
        if args.interp:
            interp = shutil.which(args.interp)
            if interp is None:
                raise Skip("interpreter %s not found" % args.interp)
            self.argv = [interp]
            if "python" in os.path.basename(interp):
                self.argv.append("-u")
            self.argv.append(prog)
        else:
            self.argv = [prog]
        if not os.path.exists(prog):
            raise TestFailure("program %s does not exist (not built?)" % prog)

        tools = os.path.abspath(args.tools)
        self.cr_checkpoint = os.path.join(tools, "cr_checkpoint")
        self.cr_restart = os.path.join(tools, "cr_restart")

        use_pty = args.stdin == "pty" or (
            args.stdin == "auto" and os.path.basename(prog).startswith("tty_"))
        if use_pty:
            self.pty_master, self.pty_slave = os.openpty()
            attrs = termios.tcgetattr(self.pty_slave)
            attrs[3] &= ~termios.ECHO     # keep the master's input side empty
            termios.tcsetattr(self.pty_slave, termios.TCSANOW, attrs)

    # ---- logging and time -------------------------------------------------

    def log(self, msg):
        print("[%7.3f] %s" % (time.monotonic() - self.t0, msg), flush=True)

    def check_deadline(self, what):
        if time.monotonic() > self.deadline:
            raise TestFailure("timeout (%ss) while %s" % (self.args.timeout, what))

    def tag(self, what):
        self.seq += 1
        return os.path.join(self.aux, "%02d-%s" % (self.seq, what))

    # ---- processes ----------------------------------------------------------

    def who(self, pid):
        return "%s (pid %d)" % (self.roles.get(pid, "process"), pid)

    def spawn(self, argv, cwd, stdin_fd, stdout_path, stderr_path, env=None, role=None):
        out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        env = dict(os.environ if env is None else env)
        pid = os.fork()
        if pid == 0:
            try:
                os.chdir(cwd)
                os.dup2(stdin_fd, 0)
                os.dup2(out, 1)
                os.dup2(err, 2)
                os.closerange(3, 65536)
                for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT,
                            signal.SIGTERM, signal.SIGCHLD):
                    signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
                os.execve(argv[0], argv, env)
            except BaseException as e:   # noqa: B902 - child must not return
                try:
                    os.write(2, ("exec %s failed: %s\n" % (argv[0], e)).encode())
                finally:
                    os._exit(127)
        os.close(out)
        os.close(err)
        self.roles[pid] = role or os.path.basename(argv[0])
        self.log("started pid %d: %s" % (pid, " ".join(argv)))
        return pid

    def reap(self):
        while True:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.exited:
                self.log("pid %d reaped again before its status was used" % pid)
            self.exited[pid] = st
            self.log("%s ended: %s" % (self.who(pid), describe_status(st)))

    def wait_pid(self, pid, timeout=None):
        """Waits for our child pid to end and returns its wait status."""
        limit = self.deadline if timeout is None else min(
            self.deadline, time.monotonic() + timeout)
        while True:
            self.reap()
            if pid in self.exited:
                return self.exited.pop(pid)
            if time.monotonic() > limit:
                raise TestFailure("timeout waiting for %s to end" % self.who(pid))
            time.sleep(0.005)

    def wait_gone(self, pid, what):
        """Waits until pid no longer exists (reaping it if it was orphaned to us)."""
        while True:
            self.reap()
            self.exited.pop(pid, None)
            st = proc_status(pid)
            if st is None:
                return
            self.check_deadline("waiting for %s (pid %d) to disappear" % (what, pid))
            time.sleep(0.005)

    def descendants(self):
        procs = all_processes()
        children = {}
        for pid, ppid in procs.items():
            children.setdefault(ppid, []).append(pid)
        out, todo = [], [self.me]
        while todo:
            for c in children.get(todo.pop(), []):
                out.append(c)
                todo.append(c)
        return out

    def cleanup(self):
        """Kills (by pid) and reaps every process below the runner."""
        for _ in range(200):
            self.reap()
            pids = self.descendants()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    self.log("killed leftover %s" % self.who(pid))
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        self.reap()
        for fd in (self.pty_master, self.pty_slave, self.devnull):
            if fd is not None:
                os.close(fd)
        self.pty_master = self.pty_slave = self.devnull = None

    # ---- waiting for program states ----------------------------------------

    def stdin_fd(self):
        return self.pty_slave if self.pty_slave is not None else self.devnull

    def settle(self, pid, kind, parent, top):
        """Waits until pid is blocked where a point of this kind blocks, has its
        handler installed, is not traced and is a child of parent."""
        want = BLOCKED_IN.get(kind)
        sig = CAUGHT.get(kind)
        good = 0
        while True:
            self.reap()
            if top in self.exited:
                raise TestFailure("%s ended (%s) while waiting for pid %d to block at %s" % (
                    self.who(top), describe_status(self.exited[top]), pid, kind))
            st = proc_status(pid)
            ok = st is not None and st.get("PPid") == str(parent) and \
                st.get("TracerPid") == "0" and st.get("State", "")[:1] in "SR"
            if ok and sig is not None:
                ok = bool(int(st.get("SigCgt", "0"), 16) & (1 << (sig - 1)))
            if ok and want is not None:
                if self.args.point_thread == "any":
                    ok = tasks_at_point(pid, want)
                else:
                    nr = proc_syscall(pid)
                    ok = nr in want
            good = good + 1 if ok else 0
            if good >= 2:
                return
            self.check_deadline("waiting for pid %d to block at %s (parent %d): "
                                "status %s syscall %s" % (
                                    pid, kind, parent,
                                    None if st is None else {k: st.get(k) for k in (
                                        "State", "PPid", "TracerPid", "SigCgt")},
                                    proc_syscall(pid) if self.args.point_thread == "main"
                                    else {t: proc_syscall(pid, t) for t in proc_tasks(pid)}))
            time.sleep(0.01)

    def wait_restored(self, pid, crpid):
        """Waits until pid exists as a child of cr_restart (or cr_restart ended)."""
        while True:
            self.reap()
            if crpid in self.exited:
                self.log("cr_restart ended before pid %d was seen" % pid)
                return
            st = proc_status(pid)
            if st is not None and st.get("PPid") == str(crpid):
                self.log("restored pid %d is a child of cr_restart %d" % (pid, crpid))
                return
            self.check_deadline("waiting for restored pid %d under cr_restart %d" % (
                pid, crpid))
            time.sleep(0.005)

    # ---- tools -------------------------------------------------------------

    def need_tools(self):
        for tool in (self.cr_checkpoint, self.cr_restart):
            if not os.access(tool, os.X_OK):
                raise TestFailure("tool %s not found or not executable" % tool)

    def checkpoint(self, pid, kill):
        base = self.tag("ckpt")
        img = base + ".img"
        argv = [self.cr_checkpoint]
        if kill:
            argv.append("--kill")
        argv += ["-f", img, str(pid)]
        cpid = self.spawn(argv, self.aux, self.devnull, base + ".out", base + ".err")
        st = self.wait_pid(cpid, timeout=30)
        if norm_status(st) != ("exit", 0):
            raise TestFailure("cr_checkpoint failed (%s):\n%s" % (
                describe_status(st), (read_bytes(base + ".err") or b"").decode(
                    "utf-8", "replace")))
        if not os.path.isfile(img) or os.path.getsize(img) == 0:
            raise TestFailure("cr_checkpoint exited 0 but image %s is missing or empty" % img)
        self.checkpoints += 1
        self.log("checkpointed pid %d to %s (%d bytes)%s" % (
            pid, img, os.path.getsize(img), " and killed it" if kill else ""))
        return img

    def restart(self, img, run):
        base = self.tag("restart")
        crpid = self.spawn([self.cr_restart, img], run.dir, self.stdin_fd(),
                           base + ".out", base + ".err")
        return crpid

    def expect_killed(self, top, pid):
        st = self.wait_pid(top, timeout=20)
        if norm_status(st) != ("signal", signal.SIGKILL):
            raise TestFailure("%s should have died of SIGKILL after cr_checkpoint "
                              "--kill, got %s" % (self.who(top), describe_status(st)))
        self.wait_gone(pid, "checkpointed program")

    # ---- driving a run -------------------------------------------------------

    def start_program(self, run):
        env = dict(os.environ)
        env["CRTEST_CONTROL"] = run.control
        env["LC_ALL"] = "C"
        pid = self.spawn(self.argv, run.dir, self.stdin_fd(), run.stdout, run.stderr, env,
                         role="program")
        return pid

    def pre_checkpoint(self, run, pid, kind, parent, top, random_delay=False, first=True):
        """Gets the program to the state in which a point of this kind is
        checkpointed."""
        if kind == "LOOP":
            if random_delay:
                delay = self.rng.uniform(*RANDOM_DELAY)
            else:
                delay = LOOP_DELAY if first else 0.3
            self.log("LOOP: checkpointing after %.3f s" % delay)
            self.sleep_watching(delay, top)
            if "LOOPDONE" in run.control_lines():
                raise TestFailure("loop finished before the checkpoint; the "
                                  "program's loop is too short for this machine")
            return
        if kind == "SLEEP":
            self.sleep_watching(SLEEP_DELAY, top)
        self.settle(pid, kind, parent, top)

    def sleep_watching(self, delay, top):
        end = time.monotonic() + delay
        while time.monotonic() < end:
            self.reap()
            if top in self.exited:
                raise TestFailure("%s ended (%s) before the checkpoint" % (
                    self.who(top), describe_status(self.exited[top])))
            self.check_deadline("waiting before checkpoint")
            time.sleep(0.005)

    def release(self, pid, kind, parent, top):
        """Lets the program go on after a point."""
        if kind not in ("CKPT", "PAUSE", "READ"):
            return
        self.settle(pid, kind, parent, top)
        if kind == "READ":
            os.write(self.pty_master, TTY_INPUT)
            self.log("wrote %r to the pty" % TTY_INPUT)
        else:
            os.kill(pid, CAUGHT[kind])
            self.log("sent %s to pid %d" % (signal.Signals(CAUGHT[kind]).name, pid))

    def drive(self, run, pid, top, parent, on_point):
        """Handles control lines until top ends; returns top's wait status.
        on_point(kind, index, top, parent) returns the new (top, parent)."""
        index = 0
        while True:
            self.check_deadline("running %s" % run.name)
            lines = run.control_lines()
            if run.consumed < len(lines):
                line = lines[run.consumed]
                run.consumed += 1
                kind = "CKPT" if line.startswith("CKPT ") else line
                self.log("%s: control line %r" % (run.name, line))
                if kind in ACTIONABLE:
                    if kind == "READ" and self.pty_master is None:
                        raise TestFailure("READ point but no pty (use --stdin pty)")
                    top, parent = on_point(kind, index, top, parent)
                    index += 1
                continue
            self.reap()
            if top in self.exited:
                st = self.exited.pop(top)
                left = [l for l in run.control_lines()[run.consumed:]
                        if l.startswith("CKPT ") or l in ("PAUSE", "READ")]
                if left:
                    raise TestFailure("program ended (%s) with unhandled points %r" % (
                        describe_status(st), left))
                return st
            time.sleep(0.005)

    def plain_point(self, pid):
        def on_point(kind, index, top, parent):
            self.release(pid, kind, parent, top)
            return top, parent
        return on_point

    def run_plain(self, name):
        run = Run(self.root, name)
        pid = self.start_program(run)
        st = self.drive(run, pid, pid, self.me, self.plain_point(pid))
        return run, st

    def run_mode(self, mode):
        self.need_tools()
        run = Run(self.root, mode)
        pid = self.start_program(run)
        results = []

        def cycle(kind, top, parent, first, random_delay=False):
            """Checkpoint --kill at this point and restart; returns new top/parent."""
            self.pre_checkpoint(run, pid, kind, parent, top, random_delay, first)
            img = self.checkpoint(pid, kill=True)
            self.expect_killed(top, pid)
            crpid = self.restart(img, run)
            self.wait_restored(pid, crpid)
            return img, crpid

        if mode == "restart":
            def on_point(kind, index, top, parent):
                img, crpid = cycle(kind, top, parent, True)
                self.release(pid, kind, crpid, crpid)
                return crpid, crpid
        elif mode == "random":
            def on_point(kind, index, top, parent):
                if index > 0:
                    self.release(pid, kind, parent, top)
                    return top, parent
                img, crpid = cycle(kind, top, parent, True, random_delay=True)
                self.release(pid, kind, crpid, crpid)
                return crpid, crpid
        elif mode == "continue":
            def on_point(kind, index, top, parent):
                self.pre_checkpoint(run, pid, kind, parent, top)
                self.checkpoint(pid, kill=False)
                self.release(pid, kind, parent, top)
                return top, parent
        elif mode == "repeat":
            def on_point(kind, index, top, parent):
                if index > 0:
                    self.release(pid, kind, parent, top)
                    return top, parent
                for k in range(REPEAT_COUNT):
                    self.log("repeat cycle %d/%d" % (k + 1, REPEAT_COUNT))
                    img, top = cycle(kind, top, parent, k == 0)
                    parent = top
                self.release(pid, kind, parent, top)
                return top, parent
        elif mode == "twice":
            saved = {}

            def on_point(kind, index, top, parent):
                if index > 0:
                    self.release(pid, kind, parent, top)
                    return top, parent
                self.pre_checkpoint(run, pid, kind, parent, top)
                img = self.checkpoint(pid, kill=True)
                self.expect_killed(top, pid)
                snap = os.path.join(self.aux, "snapshot")
                run.snapshot(snap)
                saved.update(img=img, snap=snap, kind=kind, consumed=run.consumed)
                crpid = self.restart(img, run)
                self.wait_restored(pid, crpid)
                self.release(pid, kind, crpid, crpid)
                return crpid, crpid
        else:
            raise TestFailure("unknown mode %s" % mode)

        st = self.drive(run, pid, pid, self.me, on_point)
        results.append(("first restart" if mode == "twice" else mode, run.stdout, st))
        if mode == "twice":
            if not saved:
                raise TestFailure("program reached no checkpoint point")
            first_out = os.path.join(self.aux, "stdout.first-restart")
            shutil.copy2(run.stdout, first_out)
            results[0] = ("first restart", first_out, st)
            self.wait_gone(pid, "program after first restart")
            self.log("second restart from the same image")
            run.restore(saved["snap"])
            run.consumed = saved["consumed"]
            crpid = self.restart(saved["img"], run)
            self.wait_restored(pid, crpid)
            self.release(pid, saved["kind"], crpid, crpid)
            st2 = self.drive(run, pid, crpid, crpid, self.plain_point(pid))
            results.append(("second restart", run.stdout, st2))
        if self.checkpoints == 0:
            raise TestFailure("the program reached no checkpoint point")
        return run, results


def compare(label, ref_out, ref_st, out_path, st):
    """Returns a list of problems (empty when equal)."""
    got = read_bytes(out_path) or b""
    problems = []
    if norm_status(st) != norm_status(ref_st):
        problems.append("%s: exit status %s, plain run had %s" % (
            label, describe_status(st), describe_status(ref_st)))
    if got != ref_out:
        n = next((i for i in range(min(len(got), len(ref_out))) if got[i] != ref_out[i]),
                 min(len(got), len(ref_out)))
        diff = list(difflib.unified_diff(
            ref_out.decode("utf-8", "replace").splitlines(),
            got.decode("utf-8", "replace").splitlines(),
            "plain/stdout", "%s/stdout" % label, lineterm=""))
        if len(diff) > 120:
            diff = diff[:120] + ["... (%d more diff lines)" % (len(diff) - 120)]
        if not diff:
            diff = ["(no line difference; bytes differ, e.g. NUL bytes)"]
        problems.append("%s: stdout differs from plain run (%d vs %d bytes, first "
                        "difference at byte %d: %r vs %r)\n%s" % (
                            label, len(got), len(ref_out), n, got[n:n + 40],
                            ref_out[n:n + 40], "\n".join(diff)))
    return problems


def has_line(data, word):
    return word in (data or b"").split(b"\n")


def dump_file(title, path, limit=4000):
    data = read_bytes(path)
    if data:
        text = data.decode("utf-8", "replace")
        if len(text) > limit:
            text = "...\n" + text[-limit:]
        print("----- %s (%s) -----\n%s" % (title, path, text.rstrip("\n")), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tools", required=True, help="directory with cr_checkpoint and cr_restart")
    ap.add_argument("--prog", required=True, help="test program")
    ap.add_argument("--interp", help="interpreter for --prog (e.g. python3)")
    ap.add_argument("--mode", required=True, choices=MODES)
    ap.add_argument("--work", default=None, help="parent of the scratch directory")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole test")
    ap.add_argument("--seed", type=int, default=None, help="seed for random delays")
    ap.add_argument("--stdin", choices=("auto", "null", "pty"), default="auto",
                    help="program stdin; auto = pty for tty_* programs")
    ap.add_argument("--keep", action="store_true", help="keep the scratch dir on success")
    ap.add_argument("--point-thread", choices=("main", "any"), default="main",
                    help="thread that blocks at CKPT/PAUSE/READ/SLEEP points: the main "
                         "thread (default) or any thread of a multi-threaded program")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = int(os.environ.get("CRTEST_SEED", random.randrange(1 << 30)))

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("prctl(PR_SET_CHILD_SUBREAPER) failed: errno %d" % ctypes.get_errno())
        return 1

    def on_term(sig, frame):
        raise TestFailure("runner got signal %d" % sig)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    prog_name = os.path.splitext(os.path.basename(args.prog))[0]
    root = tempfile.mkdtemp(prefix="crest-e2e-%s-%s-" % (prog_name, args.mode),
                            dir=args.work)
    ok = skipped = False
    runner = None
    try:
        runner = Runner(args, root)
        runner.log("test %s/%s seed %d scratch %s" % (prog_name, args.mode, args.seed, root))
        ref, ref_st = runner.run_plain("plain")
        ref_out = read_bytes(ref.stdout) or b""
        runner.log("plain run: %s, %d bytes of stdout" % (describe_status(ref_st), len(ref_out)))
        if norm_status(ref_st) == ("exit", 77) and ref_out.strip() == b"SKIP":
            raise Skip("program skipped itself")
        if norm_status(ref_st) != ("exit", 0) or not has_line(ref_out, runner.expect_word):
            dump_file("plain stdout", ref.stdout)
            dump_file("plain stderr", ref.stderr)
            raise TestFailure("plain run failed: %s, %s line %s" % (
                describe_status(ref_st), runner.expect_word.decode(),
                "present" if has_line(ref_out, runner.expect_word) else "missing"))
        if args.mode == "plain":
            ok = True
            return 0

        run, results = runner.run_mode(args.mode)
        problems = []
        for label, out_path, st in results:
            problems += compare(label, ref_out, ref_st, out_path, st)
            if not has_line(read_bytes(out_path), runner.expect_word):
                problems.append("%s: no %s line in stdout" % (
                    label, runner.expect_word.decode()))
        if problems:
            for label, out_path, st in results:
                dump_file("%s stdout" % label, out_path)
            dump_file("%s stderr" % args.mode, run.stderr)
            raise TestFailure("\n".join(problems))
        ok = True
        return 0
    except Skip as e:
        print("SKIP: %s" % e, flush=True)
        ok = skipped = True
        return 77
    except TestFailure as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    finally:
        if runner is not None:
            runner.cleanup()
        if ok and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            if not ok:
                for name in sorted(os.listdir(os.path.join(root, "aux"))) if os.path.isdir(
                        os.path.join(root, "aux")) else []:
                    if name.endswith((".err", ".out")):
                        dump_file(name, os.path.join(root, "aux", name), 2000)
                if os.path.isdir(os.path.join(root, args.mode)):
                    dump_file("%s control" % args.mode,
                              os.path.join(root, args.mode, "control"), 1000)
            print("scratch dir kept: %s" % root, flush=True)
        if ok and not skipped:
            print("PASS: %s/%s" % (prog_name, args.mode), flush=True)


if __name__ == "__main__":
    sys.exit(main())
