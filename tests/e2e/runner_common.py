"""Code shared by the checkpoint/restart test runners: run_e2e.py (one program,
also used by ../kobj) and ../jobs/run_jobs.py (a job of several processes).

Both run a test as: a plain reference run, then a run in a checkpoint mode,
in a scratch directory (root/<run name>/ for each run's stdout, stderr and
control file, root/aux/ for images and the tools' output); both are child
subreapers that reap everything and end processes by pid only.
"""

import argparse
import ctypes
import difflib
import os
import random
import shutil
import signal
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36


class TestFailure(Exception):
    pass


class Skip(Exception):
    pass


# ---- wait statuses and files -------------------------------------------------


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


def has_line(data, word):
    return word in (data or b"").split(b"\n")


def dump_file(title, path, limit=4000):
    data = read_bytes(path)
    if data:
        text = data.decode("utf-8", "replace")
        if len(text) > limit:
            text = "...\n" + text[-limit:]
        print("----- %s (%s) -----\n%s" % (title, path, text.rstrip("\n")), flush=True)


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


# ---- /proc -------------------------------------------------------------------


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


class Stat:
    __slots__ = ("pid", "comm", "state", "ppid", "pgrp", "sid", "start")

    def __repr__(self):
        return "%d(%s %s ppid %d pgrp %d sid %d)" % (
            self.pid, self.comm, self.state, self.ppid, self.pgrp, self.sid)


def read_stat(pid):
    """Stat of /proc/PID/stat, or None if the process is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    s = Stat()
    s.pid = pid
    s.comm = text[text.find("(") + 1:text.rfind(")")]
    rest = text[text.rfind(")") + 2:].split()
    s.state, s.ppid, s.pgrp, s.sid = rest[0], int(rest[1]), int(rest[2]), int(rest[3])
    s.start = int(rest[19])
    return s


def proc_table():
    """{pid: Stat} of every process."""
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            s = read_stat(int(name))
            if s is not None:
                out[s.pid] = s
    return out


def descendants_of(root, table):
    children = {}
    for s in table.values():
        children.setdefault(s.ppid, []).append(s.pid)
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


# ---- runs and the runner -----------------------------------------------------


class RunDir:
    """The directory of one run: its stdout, stderr and control file."""

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

    def next_control_line(self):
        """The first complete control line not handled yet (then counted as
        handled), or None."""
        lines = self.control_lines()
        if self.consumed >= len(lines):
            return None
        self.consumed += 1
        return lines[self.consumed - 1]

    def unhandled_lines(self):
        return self.control_lines()[self.consumed:]


class BaseRunner:
    """Processes, time and the tools; subclasses drive the runs."""

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
        self.aux = os.path.join(root, "aux")
        os.mkdir(self.aux)
        self.devnull = os.open("/dev/null", os.O_RDWR)
        tools = os.path.abspath(args.tools)
        self.cr_checkpoint = os.path.join(tools, "cr_checkpoint")
        self.cr_restart = os.path.join(tools, "cr_restart")

    # ---- logging and time -------------------------------------------------

    def log(self, msg):
        print("[%7.3f] %s" % (time.monotonic() - self.t0, msg), flush=True)

    def check_deadline(self, what):
        if time.monotonic() > self.deadline:
            raise TestFailure("timeout (%ss) while %s" % (self.args.timeout, what))

    def tag(self, what):
        self.seq += 1
        return os.path.join(self.aux, "%02d-%s" % (self.seq, what))

    def who(self, pid):
        return "%s (pid %d)" % (self.roles.get(pid, "process"), pid)

    # ---- processes ----------------------------------------------------------

    def spawn(self, argv, cwd, stdout_path, stderr_path, env=None, role=None, stdin_fd=None):
        """Starts argv in cwd with stdin stdin_fd (default /dev/null)."""
        stdin_fd = self.devnull if stdin_fd is None else stdin_fd
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
            except BaseException as e:   # noqa: B902 - the child must not return
                try:
                    os.write(2, ("exec %s failed: %s\n" % (argv[0], e)).encode())
                finally:
                    os._exit(127)
        os.close(out)
        os.close(err)
        self.roles[pid] = role or os.path.basename(argv[0])
        self.log("started pid %d: %s" % (pid, " ".join(argv)))
        return pid

    def start_run(self, run, argv, role, stdin_fd=None):
        """Starts the test's program or job for run, in its directory."""
        env = dict(os.environ)
        env["CRTEST_CONTROL"] = run.control
        env["LC_ALL"] = "C"
        return self.spawn(argv, run.dir, run.stdout, run.stderr, env, role=role,
                          stdin_fd=stdin_fd)

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

    def wait_gone(self, pids, what):
        """Waits until none of pids exists (reaping orphans); returns the wait
        statuses of those the runner reaped."""
        got = {}
        pids = set(pids)
        while True:
            self.reap()
            for p in pids:
                if p in self.exited:
                    got[p] = self.exited.pop(p)
            left = [p for p in pids if read_stat(p) is not None]
            if not left:
                return got
            self.check_deadline("waiting for %s to disappear: %s" % (
                what, [read_stat(p) for p in left]))
            time.sleep(0.005)

    def descendants(self, table=None):
        return descendants_of(self.me, proc_table() if table is None else table)

    def report_failure(self):
        """Called before cleanup() when the test failed."""

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
        if self.devnull is not None:
            os.close(self.devnull)
            self.devnull = None

    # ---- tools -------------------------------------------------------------

    def need_tools(self):
        for tool in (self.cr_checkpoint, self.cr_restart):
            if not os.access(tool, os.X_OK):
                raise TestFailure("tool %s not found or not executable" % tool)

    def run_checkpoint(self, target, kill, opts=()):
        """cr_checkpoint [opts] [--kill] -f IMAGE target in aux/: must exit 0 and
        write a non-empty image; returns the image's path."""
        base = self.tag("ckpt")
        img = base + ".img"
        argv = [self.cr_checkpoint, *opts]
        if kill:
            argv.append("--kill")
        argv += ["-f", img, str(target)]
        cpid = self.spawn(argv, self.aux, base + ".out", base + ".err")
        st = self.wait_pid(cpid, timeout=30)
        if norm_status(st) != ("exit", 0):
            raise TestFailure("cr_checkpoint failed (%s):\n%s" % (
                describe_status(st), (read_bytes(base + ".err") or b"").decode(
                    "utf-8", "replace")))
        if not os.path.isfile(img) or os.path.getsize(img) == 0:
            raise TestFailure("cr_checkpoint exited 0 but image %s is missing or empty" % img)
        return img

    def start_restart(self, run, img, extra=(), stdin_fd=None):
        """Starts cr_restart [extra] IMAGE in run's directory; returns its pid and
        the path of its stderr."""
        base = self.tag("restart")
        crpid = self.spawn([self.cr_restart, *extra, img], run.dir, base + ".out",
                           base + ".err", role="cr_restart", stdin_fd=stdin_fd)
        return crpid, base + ".err"

    # ---- the reference run -------------------------------------------------

    def check_reference(self, ref, ref_st, word, shown, may_skip=False):
        """Checks the plain run (exit 0, a line word in stdout; with may_skip a
        program that printed SKIP and exited 77 skips the test); returns its stdout."""
        ref_out = read_bytes(ref.stdout) or b""
        self.log("plain run: %s, %d bytes of stdout" % (describe_status(ref_st), len(ref_out)))
        if may_skip and norm_status(ref_st) == ("exit", 77) and ref_out.strip() == b"SKIP":
            raise Skip("program skipped itself")
        if norm_status(ref_st) != ("exit", 0) or not has_line(ref_out, word):
            dump_file("plain stdout", ref.stdout)
            dump_file("plain stderr", ref.stderr)
            raise TestFailure("plain run failed: %s, %s line %s" % (
                describe_status(ref_st), shown,
                "present" if has_line(ref_out, word) else "missing"))
        return ref_out


# ---- main ----------------------------------------------------------------------


def arg_parser(doc):
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--tools", required=True, help="directory with cr_checkpoint and cr_restart")
    return ap


def add_run_args(ap, modes, timeout):
    """--mode and the options about the scratch directory, time and randomness."""
    ap.add_argument("--mode", required=True, choices=modes)
    ap.add_argument("--work", default=None, help="parent of the scratch directory")
    ap.add_argument("--timeout", type=float, default=timeout, help="seconds for the whole test")
    ap.add_argument("--seed", type=int, default=None, help="seed for random delays")
    ap.add_argument("--keep", action="store_true", help="keep the scratch dir on success")


def parse_args(ap):
    args = ap.parse_args()
    if args.seed is None:
        args.seed = int(os.environ.get("CRTEST_SEED", random.randrange(1 << 30)))
    return args


def run_test(args, kind, name, make_runner, body, dump_runs):
    """The frame of one test: the runner process set up, a scratch directory
    (removed on success unless --keep), make_runner(root), then body(runner),
    which raises Skip or TestFailure; on failure the tools' output and
    dump_runs(root) are printed. Returns the exit status (0, 1 or 77)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("prctl(PR_SET_CHILD_SUBREAPER) failed: errno %d" % ctypes.get_errno())
        return 1

    def on_term(sig, frame):
        raise TestFailure("runner got signal %d" % sig)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)

    root = tempfile.mkdtemp(prefix="crest-%s-%s-%s-" % (kind, name, args.mode), dir=args.work)
    ok = skipped = False
    runner = None
    try:
        runner = make_runner(root)
        runner.log("test %s/%s seed %d scratch %s" % (name, args.mode, args.seed, root))
        body(runner)
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
            if not ok:
                runner.report_failure()
            runner.cleanup()
        if ok and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            if not ok:
                aux = os.path.join(root, "aux")
                for entry in sorted(os.listdir(aux)) if os.path.isdir(aux) else []:
                    if entry.endswith((".err", ".out")):
                        dump_file(entry, os.path.join(aux, entry), 2000)
                dump_runs(root)
            print("scratch dir kept: %s" % root, flush=True)
        if ok and not skipped:
            print("PASS: %s/%s" % (name, args.mode), flush=True)
