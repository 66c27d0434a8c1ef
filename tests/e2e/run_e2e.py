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

import os
import shutil
import signal
import sys
import termios
import time

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
from runner_common import (BaseRunner, RunDir, Skip, TestFailure,  # noqa: E402
                           add_run_args, arg_parser, compare, describe_status, dump_file,
                           has_line, norm_status, parse_args, proc_status, proc_syscall,
                           read_bytes, run_test)

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


class Run(RunDir):
    """One execution of the program in its own directory."""

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


class Runner(BaseRunner):
    def __init__(self, args, root):
        super().__init__(args, root)
        self.checkpoints = 0
        self.pty_master = self.pty_slave = None
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

        use_pty = args.stdin == "pty" or (
            args.stdin == "auto" and os.path.basename(prog).startswith("tty_"))
        if use_pty:
            self.pty_master, self.pty_slave = os.openpty()
            attrs = termios.tcgetattr(self.pty_slave)
            attrs[3] &= ~termios.ECHO     # keep the master's input side empty
            termios.tcsetattr(self.pty_slave, termios.TCSANOW, attrs)

    def cleanup(self):
        super().cleanup()
        for fd in (self.pty_master, self.pty_slave):
            if fd is not None:
                os.close(fd)
        self.pty_master = self.pty_slave = None

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

    def checkpoint(self, pid, kill):
        img = self.run_checkpoint(pid, kill)
        self.checkpoints += 1
        self.log("checkpointed pid %d to %s (%d bytes)%s" % (
            pid, img, os.path.getsize(img), " and killed it" if kill else ""))
        return img

    def restart(self, img, run):
        crpid, _ = self.start_restart(run, img, extra=self.args.restart_opt, stdin_fd=self.stdin_fd())
        return crpid

    def expect_killed(self, top, pid):
        st = self.wait_pid(top, timeout=20)
        if norm_status(st) != ("signal", signal.SIGKILL):
            raise TestFailure("%s should have died of SIGKILL after cr_checkpoint "
                              "--kill, got %s" % (self.who(top), describe_status(st)))
        self.wait_gone([pid], "checkpointed program")

    # ---- driving a run -------------------------------------------------------

    def start_program(self, run):
        return self.start_run(run, self.argv, "program", stdin_fd=self.stdin_fd())

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
            line = run.next_control_line()
            if line is not None:
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
                left = [l for l in run.unhandled_lines()
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

        def first_point_only(handle):
            """An on_point that handles the first point with handle(kind, top,
            parent) and only releases the later ones."""
            def on_point(kind, index, top, parent):
                if index > 0:
                    self.release(pid, kind, parent, top)
                    return top, parent
                return handle(kind, top, parent)
            return on_point

        if mode == "restart":
            def on_point(kind, index, top, parent):
                img, crpid = cycle(kind, top, parent, True)
                self.release(pid, kind, crpid, crpid)
                return crpid, crpid
        elif mode == "random":
            @first_point_only
            def on_point(kind, top, parent):
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
            @first_point_only
            def on_point(kind, top, parent):
                for k in range(REPEAT_COUNT):
                    self.log("repeat cycle %d/%d" % (k + 1, REPEAT_COUNT))
                    img, top = cycle(kind, top, parent, k == 0)
                    parent = top
                self.release(pid, kind, parent, top)
                return top, parent
        elif mode == "twice":
            saved = {}

            @first_point_only
            def on_point(kind, top, parent):
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
            self.wait_gone([pid], "program after first restart")
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


def main():
    ap = arg_parser(__doc__)
    ap.add_argument("--prog", required=True, help="test program")
    ap.add_argument("--restart-opt", action="append", default=[], help="an option for cr_restart (repeatable)")
    ap.add_argument("--interp", help="interpreter for --prog (e.g. python3)")
    add_run_args(ap, MODES, timeout=60.0)
    ap.add_argument("--stdin", choices=("auto", "null", "pty"), default="auto",
                    help="program stdin; auto = pty for tty_* programs")
    ap.add_argument("--point-thread", choices=("main", "any"), default="main",
                    help="thread that blocks at CKPT/PAUSE/READ/SLEEP points: the main "
                         "thread (default) or any thread of a multi-threaded program")
    args = parse_args(ap)

    def body(runner):
        ref, ref_st = runner.run_plain("plain")
        word = runner.expect_word
        ref_out = runner.check_reference(ref, ref_st, word, word.decode(), may_skip=True)
        if args.mode == "plain":
            return
        run, results = runner.run_mode(args.mode)
        problems = []
        for label, out_path, st in results:
            problems += compare(label, ref_out, ref_st, out_path, st)
            if not has_line(read_bytes(out_path), word):
                problems.append("%s: no %s line in stdout" % (label, word.decode()))
        if problems:
            for label, out_path, st in results:
                dump_file("%s stdout" % label, out_path)
            dump_file("%s stderr" % args.mode, run.stderr)
            raise TestFailure("\n".join(problems))

    def dump_runs(root):
        if os.path.isdir(os.path.join(root, args.mode)):
            dump_file("%s control" % args.mode, os.path.join(root, args.mode, "control"), 1000)

    prog_name = os.path.splitext(os.path.basename(args.prog))[0]
    return run_test(args, "e2e", prog_name, lambda root: Runner(args, root), body, dump_runs)


if __name__ == "__main__":
    sys.exit(main())
