"""Shared helpers for the crest CLI tests (tests/cli).

Every test script does::

    import clitest

    def body(t):            # t is a clitest.Case
        ...

    if __name__ == "__main__":
        clitest.main(body)

and is run by ctest as
``python3 SCRIPT --tools BUILD/tools --helpers BUILD/tests/cli``.

The Case object provides a scratch directory (removed on success, kept for
inspection on failure), makes this process a child subreaper so that anything
the tools leave behind is re-parented to us and can be found, tracks every
process it starts, and on exit kills (by pid) and reaps everything it started
or inherited, unmounts what it mounted and removes the scratch directory.

Failures are collected with ``t.check(cond, msg)`` (continue) and
``t.require(cond, msg)`` (stop this test now); the script exits 1 if any
check failed, 0 otherwise.  There is no "skip": a missing tool or missing
privilege is a failure.
"""

import argparse
import ctypes
import fcntl
import os
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

NOBODY_UID = 65534
NOBODY_GID = 65534
SETPRIV = ["setpriv", f"--reuid={NOBODY_UID}", f"--regid={NOBODY_GID}", "--clear-groups"]

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37

# Words one of which a rejection of a damaged image must mention.
CORRUPTION_WORDS = ("truncat", "corrupt", "checksum", "architecture", "version", "magic")

# Image format constants (src/image/format.h, docs/image-format.md).
IMAGE_MAGIC = b"CRESTIMG"
HEADER_SIZE = 128
HEADER_VERSION_OFFSET = 8
HEADER_ARCH_OFFSET = 12
HEADER_CHECKSUM_OFFSET = 120


class Abort(Exception):
    """Raised by Case.require / Case.fail_now to stop the current test."""


# --------------------------------------------------------------------------
# /proc helpers


class ProcStat:
    __slots__ = ("pid", "comm", "state", "ppid")

    def __init__(self, pid, comm, state, ppid):
        self.pid, self.comm, self.state, self.ppid = pid, comm, state, ppid

    def __repr__(self):
        return f"pid {self.pid} ({self.comm}) state {self.state} ppid {self.ppid}"


def read_stat(pid):
    """ProcStat for pid, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("latin-1")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    lpar, rpar = data.find("("), data.rfind(")")
    if lpar < 0 or rpar < 0:
        return None
    rest = data[rpar + 2:].split()
    return ProcStat(pid, data[lpar + 1:rpar], rest[0], int(rest[1]))


def proc_state(pid):
    st = read_stat(pid)
    return st.state if st else None


def is_alive(pid):
    """True if pid exists and is not a zombie/dead."""
    st = read_stat(pid)
    return st is not None and st.state not in ("Z", "X", "x")


def is_stopped(pid):
    return proc_state(pid) in ("T", "t")


def status_field(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return line.split(":", 1)[1].strip()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def tracer_pid(pid):
    v = status_field(pid, "TracerPid")
    return int(v) if v is not None else None


def real_uid(pid):
    v = status_field(pid, "Uid")
    return int(v.split()[0]) if v else None


def all_pids():
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            out.append(int(name))
    return out


def all_stats():
    out = []
    for pid in all_pids():
        st = read_stat(pid)
        if st is not None:
            out.append(st)
    return out


def children_of(ppid):
    return [st for st in all_stats() if st.ppid == ppid]


def descendants_of(root):
    """ProcStat of every descendant of root (not root itself)."""
    stats = all_stats()
    by_parent = {}
    for st in stats:
        by_parent.setdefault(st.ppid, []).append(st)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for st in by_parent.get(p, []):
            out.append(st)
            todo.append(st.pid)
    return out


def free_pid(start=999999):
    """A pid (>= start) with no /proc entry."""
    pid = start
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    return pid


def fd_targets(pid):
    """{fd: readlink target} of a process."""
    out = {}
    try:
        for name in os.listdir(f"/proc/{pid}/fd"):
            try:
                out[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
            except OSError:
                pass
    except OSError:
        pass
    return out


def read_text(path):
    """The file's text, or "" while it does not exist (yet) or cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def wait_for(pred, timeout, step=0.02):
    """Poll pred() until it returns something truthy; return that, or None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(step)


def describe_status(rc):
    if rc is None:
        return "did not exit (timed out)"
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit {rc}"


def contiguity_error(nums):
    """None if nums is a run of consecutive integers, else a description."""
    for i in range(1, len(nums)):
        if nums[i] != nums[i - 1] + 1:
            return (f"line {i}: {nums[i - 1]} followed by {nums[i]} "
                    f"(context {nums[max(0, i - 3):i + 3]})")
    return None


# --------------------------------------------------------------------------
# image helpers


def xxh3_64(data):
    """XXH3-64 (seed 0) via the system libxxhash (a build dependency of crest)."""
    lib = ctypes.CDLL("libxxhash.so.0")
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lib.XXH3_64bits(bytes(data), len(data))


# --------------------------------------------------------------------------
# processes


class Result:
    """Outcome of a finished tool run."""

    def __init__(self, argv, rc, out, err, elapsed):
        self.argv, self.rc, self.out, self.err, self.elapsed = argv, rc, out, err, elapsed

    @property
    def timed_out(self):
        return self.rc is None

    def __str__(self):
        err = self.err.strip()
        if len(err) > 2000:
            err = err[:2000] + "..."
        return (f"`{shlex.join(self.argv)}` -> {describe_status(self.rc)} after {self.elapsed:.2f}s; "
                f"stderr: {err!r}")


class Proc:
    """A process started in the background by Case.start / Case.spawn."""

    def __init__(self, case, popen, argv, out_file, err_file, out_path=None, name=None):
        self.case, self.popen, self.argv = case, popen, argv
        self.pid = popen.pid
        self._out_file, self._err_file = out_file, err_file
        self.out_path = out_path
        self.name = name
        self.t0 = time.monotonic()
        self._result = None

    def poll(self):
        return self.popen.poll()

    def running(self):
        return self.popen.poll() is None

    def wait(self, timeout):
        """Wait up to timeout seconds; return a Result (rc None if it did not exit)."""
        if self._result is not None:
            return self._result
        try:
            rc = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return Result(self.argv, None, b"", self._read(self._err_file), time.monotonic() - self.t0)
        self._result = Result(self.argv, rc, self._read_bytes(self._out_file),
                              self._read(self._err_file), time.monotonic() - self.t0)
        self.case.log(f"    {self._result}")
        return self._result

    def kill(self):
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    @staticmethod
    def _read_bytes(f):
        if f is None:
            return b""
        try:
            f.seek(0)
            return f.read()
        except (OSError, ValueError):
            return b""

    @classmethod
    def _read(cls, f):
        return cls._read_bytes(f).decode("utf-8", "replace")

    # --- output of test subjects (stdout redirected to self.out_path) ---

    def text(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def lines(self):
        """Complete lines of the subject's output (a trailing partial line is dropped)."""
        return self.text().split("\n")[:-1]

    def counters(self):
        """The bare decimal numbers the subject printed (spin_print, big_mem)."""
        return [int(l) for l in self.lines() if l.isdigit()]

    def ticks(self):
        """The N of "tick N" lines (hold_file)."""
        return [int(l[5:]) for l in self.lines() if l.startswith("tick ") and l[5:].isdigit()]

    def last_counter(self):
        c = self.counters()
        return c[-1] if c else None


class Case:
    def __init__(self, name, argv=None):
        ap = argparse.ArgumentParser()
        ap.add_argument("--tools", required=True, help="directory holding cr_checkpoint and cr_restart")
        ap.add_argument("--helpers", required=True, help="directory holding the tests/cli helper programs")
        ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
        args = ap.parse_args(argv)
        self.name = name
        self.tools_dir = os.path.abspath(args.tools)
        self.helpers_dir = os.path.abspath(args.helpers)
        self.keep = args.keep
        self.failures = []
        self._procs = []
        self._extra_pids = set()
        self._mounts = []
        self._reaper_threads = []
        self.me = os.getpid()
        self.scratch = tempfile.mkdtemp(prefix=f"crest-cli-{name}-", dir="/tmp")
        os.chmod(self.scratch, 0o755)
        self.log(f"[{name}] scratch dir {self.scratch}")
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        flag = ctypes.c_int(0)
        libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0)
        if flag.value != 1:
            raise RuntimeError("could not become a child subreaper")

    # ---------------------------------------------------------------- output

    def log(self, msg):
        print(msg, flush=True)

    def check(self, cond, msg):
        """Record a failure (and continue) unless cond is truthy."""
        if not cond:
            self.failures.append(msg)
            self.log(f"  FAIL: {msg}")
        return bool(cond)

    def require(self, cond, msg):
        """Record a failure and stop the test unless cond is truthy."""
        if not cond:
            self.failures.append(msg)
            self.log(f"  FAIL (fatal): {msg}")
            raise Abort(msg)
        return cond

    def fail_now(self, msg):
        self.require(False, msg)

    def section(self, title):
        self.log(f"--- {title}")

    # --------------------------------------------------------- environment

    def require_root(self, why):
        self.require(os.geteuid() == 0,
                     f"this test must run as root ({why}); it runs as uid {os.geteuid()}. "
                     "CI runs the suite as root; run ctest as root.")

    def tool(self, name):
        path = os.path.join(self.tools_dir, name)
        return self._executable(path, f"tool {path} does not exist or is not executable "
                                      "(build the project first)")

    @property
    def cr_checkpoint(self):
        return self.tool("cr_checkpoint")

    @property
    def cr_restart(self):
        return self.tool("cr_restart")

    def helper(self, name):
        path = os.path.join(self.helpers_dir, name)
        return self._executable(path, f"helper program {path} does not exist "
                                      f"(build target cli_{name})")

    def _executable(self, path, missing):
        """path, or a copy uid 65534 can run; requires it to be an executable file."""
        self.require(os.path.isfile(path) and os.access(path, os.X_OK), missing)
        return self._reachable_by_nobody(path)

    @staticmethod
    def _nobody_can_run(path):
        if os.stat(path).st_mode & 0o005 != 0o005:
            return False
        d = os.path.dirname(path)
        while True:
            if not os.stat(d).st_mode & 0o001:
                return False
            if d == "/":
                return True
            d = os.path.dirname(d)

    def _reachable_by_nobody(self, path):
        """The build may sit under a directory uid 65534 cannot enter (CI clones
        anywhere): then run a copy kept in the scratch directory."""
        path = os.path.abspath(path)
        if self._nobody_can_run(path):
            return path
        bindir = os.path.join(self.scratch, "bin")
        copy = os.path.join(bindir, os.path.basename(path))
        if not os.path.exists(copy):
            os.makedirs(bindir, exist_ok=True)
            shutil.copy2(path, copy)
            os.chmod(copy, 0o755)
            os.chmod(bindir, 0o755)
            os.chmod(self.scratch, os.stat(self.scratch).st_mode | 0o011)
        return copy

    def require_usable_by_nobody(self, path):
        """Fail unless uid 65534 can reach and execute path (every parent dir o+x)."""
        path = os.path.abspath(path)
        self.require(self._nobody_can_run(path),
                     f"{path} (or a parent directory) is not usable by uid {NOBODY_UID}")

    def path(self, *parts):
        return os.path.join(self.scratch, *parts)

    def mkdir(self, *parts, mode=0o755):
        p = self.path(*parts)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, mode)
        return p

    def mount_tmpfs(self, path, size):
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                           capture_output=True, text=True)
        self.require(r.returncode == 0, f"mount tmpfs on {path} failed: {r.stderr.strip()}")
        self._mounts.append(path)

    # ------------------------------------------------------------ processes

    def _popen(self, argv, user, cwd, stdin, stdout, stderr, pass_fds=()):
        argv = [str(a) for a in argv]
        full = SETPRIV + argv if user else argv
        self.log(f"  $ {shlex.join(full)}")
        popen = subprocess.Popen(full, stdin=stdin, stdout=stdout, stderr=stderr,
                                 cwd=cwd or self.scratch, close_fds=True, pass_fds=pass_fds)
        return popen, full

    def start(self, argv, user=False, cwd=None, stdin=subprocess.DEVNULL, stdout=None, pass_fds=()):
        """Start a tool in the background; its stdout (unless given) and stderr go to
        anonymous temporary files (never pipes, so a leaked descendant holding them
        cannot make the test hang).  pass_fds: descriptors it inherits besides 0-2."""
        out_f = tempfile.TemporaryFile() if stdout is None else None
        err_f = tempfile.TemporaryFile()
        popen, full = self._popen(argv, user, cwd, stdin, out_f if stdout is None else stdout, err_f, pass_fds)
        p = Proc(self, popen, full, out_f, err_f)
        self._procs.append(p)
        return p

    def run(self, argv, timeout=30, **kw):
        """Run a tool to completion (killing it after timeout seconds); return a Result."""
        p = self.start(argv, **kw)
        r = p.wait(timeout)
        if r.rc is None:
            self.log(f"    timed out after {timeout}s; killing pid {p.pid}")
            p.kill()
            r = Result(r.argv, None, r.out, Proc._read(p._err_file), r.elapsed)
            self.log(f"    {r}")
        return r

    def spawn(self, argv, name="subject", user=False):
        """Start a test subject: stdin an empty regular file, stdout NAME.out and
        stderr NAME.err in the scratch dir (all regular files, which the restorer
        reopens by path).  With user=True the subject runs as uid 65534 and its
        files are owned by that user."""
        files = {}
        for suffix in ("in", "out", "err"):
            p = self.path(f"{name}.{suffix}")
            with open(p, "wb"):
                pass
            if user:
                os.chown(p, NOBODY_UID, NOBODY_GID)
            files[suffix] = p
        fin = open(files["in"], "rb")
        fout = open(files["out"], "wb")
        ferr = open(files["err"], "wb")
        try:
            popen, full = self._popen(argv, user, None, fin, fout, ferr)
        finally:
            fin.close()
            fout.close()
            ferr.close()
        p = Proc(self, popen, full, None, None, out_path=files["out"], name=name)
        self._procs.append(p)
        return p

    def spin_print(self, name="spin", user=False, min_lines=3):
        """Start spin_print and wait until it has printed min_lines numbers."""
        s = self.spawn([self.helper("spin_print")], name=name, user=user)
        self.wait_output(s, lambda: len(s.counters()) >= min_lines, f"{min_lines} counter lines")
        return s

    def big_mem(self, mib, name="bigmem"):
        s = self.spawn([self.helper("big_mem"), mib], name=name)
        self.wait_output(s, lambda: "ready" in s.lines(), "ready", timeout=30)
        return s

    def wait_output(self, subject, pred, what, timeout=10):
        ok = wait_for(lambda: pred() or not is_alive(subject.pid), timeout)
        if not pred():
            tail = subject.text()[-300:]
            self.fail_now(f"{subject.name} (pid {subject.pid}, {self.state_desc(subject.pid)}) did not "
                          f"produce {what} within {timeout}s; output tail {tail!r}")
        return ok

    def reap_in_background(self, proc):
        """Reap a subject as soon as it dies (so its pid is free for a restore)."""
        t = threading.Thread(target=proc.popen.wait, daemon=True)
        t.start()
        self._reaper_threads.append(t)
        return t

    def expect_death(self, proc, sig, timeout=10):
        """The subject must die of signal sig within timeout; it is reaped."""
        try:
            rc = proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        return self.check(rc == -sig, f"{proc.name} (pid {proc.pid}) expected to be killed by "
                                      f"{signal.Signals(sig).name}, but: {describe_status(rc)} "
                                      f"(state now {self.state_desc(proc.pid)})")

    def kill_subject(self, proc):
        """SIGKILL a subject by pid and reap it."""
        proc.kill()
        self.require(proc.popen.returncode is not None, f"could not reap {proc.name} (pid {proc.pid})")

    def track_pid(self, pid, comm):
        """A pid that is not our child (e.g. a restored process) to kill at cleanup,
        as long as it still has the name comm (so a reused pid is left alone)."""
        self._extra_pids.add((pid, comm))

    def state_desc(self, pid):
        st = read_stat(pid)
        return f"state {st.state}, comm {st.comm}" if st else "gone"

    def check_running(self, proc, what, settle=0.0, window=0.5):
        """proc must be alive, not stopped (t/T), and its counter must advance over window."""
        if settle:
            time.sleep(settle)
        st = read_stat(proc.pid)
        if not self.check(st is not None and st.state not in ("Z", "X", "T", "t"),
                          f"{what}: pid {proc.pid} should be running, but is "
                          f"{'gone' if st is None else 'in state ' + st.state}"):
            return False
        before = proc.last_counter()
        wait_for(lambda: (proc.last_counter() or -1) > (before if before is not None else -1), window + 2.0)
        after = proc.last_counter()
        ok = self.check(after is not None and (before is None or after > before),
                        f"{what}: counter of pid {proc.pid} did not advance ({before} -> {after}); "
                        f"{self.state_desc(proc.pid)}")
        st2 = read_stat(proc.pid)
        ok &= self.check(st2 is not None and st2.state not in ("T", "t", "Z"),
                         f"{what}: pid {proc.pid} state became {st2.state if st2 else 'gone'}")
        return ok

    def check_counter_resumed(self, subject, at_ckpt, restored_pid, label=None):
        """The restored copy of a counting subject (spin_print, writing to the same
        output file) goes on from at_ckpt, the numbers printed before the
        checkpoint, without a gap or a repeat.  Returns the numbers printed now."""
        pre = f"{label}: " if label else ""
        target = at_ckpt[-1] + 5
        self.check(wait_for(lambda: (subject.last_counter() or -1) >= target, 10),
                   f"{pre}restored process did not continue the counter to {target} "
                   f"(last {subject.last_counter()}, {self.state_desc(restored_pid)})")
        nums = subject.counters()
        self.check(len(nums) > len(at_ckpt) and nums[len(at_ckpt)] == at_ckpt[-1] + 1,
                   f"{pre}first number after the restore should be {at_ckpt[-1] + 1}, "
                   f"got {nums[len(at_ckpt):len(at_ckpt) + 3]}")
        err = contiguity_error(nums)
        self.check(err is None, f"{pre}counter has a gap or a repeat: {err}")
        return nums

    # --------------------------------------------------- leftover processes

    def live_descendants(self):
        return {st.pid: st for st in descendants_of(self.me) if st.state not in ("Z", "X", "x")}

    def reap_zombie_orphans(self):
        """Reap zombie children that are not Popen-managed (re-parented to us)."""
        mine = {p.pid for p in self._procs}
        for st in children_of(self.me):
            if st.state == "Z" and st.pid not in mine:
                try:
                    os.waitpid(st.pid, os.WNOHANG)
                except ChildProcessError:
                    pass

    def wait_pid_free(self, pid, timeout=5):
        """Wait until pid is gone, reaping it if it is a zombie re-parented to us (the
        subreaper), even one that reuses the pid of a subject reaped before.  Returns
        True once it is free."""
        def gone():
            self.reap_zombie_orphans()
            if proc_state(pid) == "Z":
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
            return not os.path.exists(f"/proc/{pid}")
        return wait_for(gone, timeout)

    def check_no_new_processes(self, before, what, grace=1.0):
        """After a tool exited: no process that was not a descendant before may be alive
        under us (we are the subreaper, so orphans of the tool are our children).
        Leftovers are reported and killed."""
        def leftovers():
            self.reap_zombie_orphans()
            return {pid: st for pid, st in self.live_descendants().items() if pid not in before}

        wait_for(lambda: not leftovers(), grace, step=0.05)
        left = leftovers()
        self.check(not left, f"{what}: processes left behind: {list(left.values())}")
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            wait_for(lambda: not any(is_alive(p) for p in left), 5)
            self.reap_zombie_orphans()
        return not left

    def check_not_restored(self, pid, comm, what):
        st = read_stat(pid)
        ok = st is None or st.state in ("Z", "X") or st.comm != comm
        self.check(ok, f"{what}: original pid {pid} is running a restored copy ({st})")
        if not ok:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return ok

    def wait_restored(self, parent, comm, pid=None, timeout=15):
        """Wait for a live child of the cr_restart Proc parent named comm (with the
        given pid if not None); gives up early if cr_restart exits."""
        def find():
            for st in children_of(parent.pid):
                if st.comm == comm and st.state not in ("Z", "X") and (pid is None or st.pid == pid):
                    return st
            return None
        st = wait_for(lambda: find() or not parent.running(), timeout)
        st = find() if st else None
        if st:
            self.track_pid(st.pid, st.comm)
            # The stub has the process's name from its exec on; the restore is over once
            # cr_restart has let it go (no longer traced).
            wait_for(lambda: tracer_pid(st.pid) == 0 or not parent.running(), timeout)
            st = find()
        return st

    def require_restored(self, parent, comm, failure, pid=None):
        """wait_restored, or kill cr_restart and stop the test with the message
        failure (and cr_restart's result)."""
        st = self.wait_restored(parent, comm, pid=pid)
        if not st:
            parent.kill()
            self.fail_now(f"{failure}: {parent.wait(5)}")
        return st

    def kill_restored(self, parent, pid, label=None):
        """SIGKILL the restored process pid: cr_restart (the Proc parent), which
        mirrors how it ends, must die of SIGKILL too."""
        pre = f"{label}: " if label else ""
        os.kill(pid, signal.SIGKILL)
        r = parent.wait(10)
        self.check(r.rc == -signal.SIGKILL,
                   f"{pre}cr_restart should die of SIGKILL like the restored process: {r}")
        if r.rc is None:
            parent.kill()

    # -------------------------------------------------------------- cleanup

    def cleanup(self):
        # kill everything we started, then anything still below us, by pid
        for p in self._procs:
            if p.popen.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for _ in range(5):
            left = self.live_descendants()
            extra = [p for p, comm in self._extra_pids
                     if is_alive(p) and (read_stat(p) or ProcStat(0, "", "", 0)).comm == comm]
            if not left and not extra:
                break
            for pid in set(left) | set(extra):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
            self.reap_zombie_orphans()
        for p in self._procs:
            try:
                p.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.log(f"warning: pid {p.pid} did not die")
        self.reap_zombie_orphans()
        for m in reversed(self._mounts):
            r = subprocess.run(["umount", m], capture_output=True, text=True)
            if r.returncode != 0:
                self.log(f"warning: umount {m}: {r.stderr.strip()}; lazy unmount")
                subprocess.run(["umount", "-l", m])
        self._mounts = []



def enter_private_pid_namespace():
    """Re-run this script as the init of a new pid namespace (with its own /proc); the
    namespace, and everything left in it, ends when the script does."""
    if os.getpid() == 1:
        return
    argv = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
            sys.executable, os.path.abspath(sys.argv[0]), *sys.argv[1:]]
    sys.stdout.flush()
    os.execvp(argv[0], argv)


def main(body):
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    case = Case(name)
    try:
        body(case)
    except Abort:
        pass
    except Exception:
        case.failures.append("unexpected exception:\n" + traceback.format_exc())
        case.log(traceback.format_exc())
    finally:
        try:
            case.cleanup()
        except Exception:
            case.failures.append("cleanup failed:\n" + traceback.format_exc())
    if case.failures:
        case.log(f"\n[{name}] FAILED ({len(case.failures)} problem(s)); scratch kept at {case.scratch}")
        for i, f in enumerate(case.failures, 1):
            case.log(f"  {i}. {f}")
        sys.exit(1)
    if not case.keep:
        shutil.rmtree(case.scratch, ignore_errors=True)
    case.log(f"[{name}] PASSED")
    sys.exit(0)


# --------------------------------------------------------------------------
# shared pieces of several cases


class BlockedDump:
    """cr_checkpoint -F 1 writing into a small pipe nobody reads (yet), so the
    dump blocks with the target (normally) frozen."""

    def __init__(self, case, pid, extra_args=()):
        self.case = case
        r, w = os.pipe()
        try:
            fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
        except OSError:
            pass
        self.t0 = time.monotonic()
        self.proc = case.start([case.cr_checkpoint, *extra_args, "-F", "1", pid], stdout=w)
        os.close(w)
        self.rfd = r
        self.drained = 0
        self._thread = None

    def require_blocked(self, target_pid, what):
        """Half a second on, the dump (of what, far larger than the pipe) must still
        be blocked; logs the target's state meanwhile."""
        time.sleep(0.5)
        self.case.require(self.proc.running(),
                          f"cr_checkpoint finished before the test could interfere "
                          f"({what} should block on the unread pipe): {self.proc.wait(1)}")
        self.case.log(f"  target state while the dump is blocked: {self.case.state_desc(target_pid)}, "
                      f"tracer {tracer_pid(target_pid)}")

    def drain(self):
        """Start reading the pipe to EOF in the background."""
        def run():
            while True:
                try:
                    chunk = os.read(self.rfd, 1 << 16)
                except OSError:
                    break
                if not chunk:
                    break
                self.drained += len(chunk)
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def close(self):
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            os.close(self.rfd)
        except OSError:
            pass


def make_spin_image(t, img_name="img"):
    """Checkpoint a running spin_print into scratch/img_name (default after-action:
    it keeps running), then kill and reap the subject so its pid is free.
    Returns (image path, original pid, subject)."""
    s = t.spin_print(name="spin", min_lines=5)
    img = t.path(img_name)
    r = t.run([t.cr_checkpoint, "-f", img, s.pid])
    t.require(r.rc == 0, f"making the test image failed: {r}")
    t.require(os.path.isfile(img) and os.path.getsize(img) > HEADER_SIZE,
              f"image {img} missing or too small after a successful checkpoint")
    t.kill_subject(s)
    return img, s.pid, s


def mapped_files_setup(t, label, user=False):
    """A scratch directory `label` holding a copy of the mapped_files subject and its two
    files (private.txt, mapped privately; shared.txt, mapped shared), owned by nobody if
    `user`.  Returns {"exe", "private", "shared"}: their paths."""
    d = t.mkdir(label, mode=0o777 if user else 0o755)
    exe = os.path.join(d, "mapped_files")
    shutil.copy2(t.helper("mapped_files"), exe)
    os.chmod(exe, 0o755)
    priv = os.path.join(d, "private.txt")
    with open(priv, "w") as f:
        f.write("private-data\n")
    shared = os.path.join(d, "shared.txt")
    with open(shared, "wb") as f:
        f.write(b"shared-000\n".ljust(4096, b"\0"))
    if user:
        for p in (priv, shared):
            os.chown(p, NOBODY_UID, NOBODY_GID)
    return {"exe": exe, "private": priv, "shared": shared}


def read_spin_image(t):
    """For the damaged-image cases: make_spin_image (as root: the control restore
    gets the original pid back) and read the image.
    Returns (image path, its bytes, original pid, subject)."""
    t.require_root("cr_restart restores the original pid, which needs CAP_CHECKPOINT_RESTORE")
    img, pid, subject = make_spin_image(t)
    with open(img, "rb") as f:
        data = f.read()
    t.log(f"image {img}: {len(data)} bytes")
    return img, data, pid, subject


def expect_rejected_bytes(t, name, data, orig_pid, label, **kw):
    """expect_rejected for the image data, written to scratch/name first."""
    path = t.path(name)
    with open(path, "wb") as f:
        f.write(data)
    return expect_rejected(t, path, orig_pid, label, **kw)


def expect_rejected(t, image, orig_pid, label, words=CORRUPTION_WORDS, comm="spin_print", extra_args=()):
    """cr_restart of a damaged image must fail with a message saying what is wrong
    and leave nothing behind."""
    t.section(label)
    before = set(t.live_descendants())
    r = t.run([t.cr_restart, *extra_args, image], timeout=30)
    t.check(r.rc is not None, f"{label}: cr_restart hung: {r}")
    t.check(r.rc not in (None, 0), f"{label}: cr_restart should fail: {r}")
    err = r.err.lower()
    t.check(err.strip(), f"{label}: cr_restart printed nothing on stderr: {r}")
    t.check(any(w in err for w in words),
            f"{label}: stderr mentions none of {list(words)}: {r}")
    t.check_no_new_processes(before, label)
    t.check_not_restored(orig_pid, comm, label)
    return r


def expect_restores(t, image, subject, label):
    """Control: the intact image restores (with the original pid) and the counter
    continues.  The restored process is then killed; cr_restart must die of the
    same signal."""
    t.section(label)
    before_lines = subject.counters()
    t.require(before_lines, f"{label}: subject printed nothing")
    rp = t.start([t.cr_restart, image])
    t.require_restored(rp, "spin_print", pid=subject.pid,
                       failure=f"{label}: the intact image did not restore as pid {subject.pid} "
                               "under cr_restart")
    target = before_lines[-1] + 3
    ok = wait_for(lambda: (subject.last_counter() or -1) >= target, 10)
    t.check(ok, f"{label}: restored process did not continue the counter past {target} "
                f"(last {subject.last_counter()}, {t.state_desc(subject.pid)})")
    err = contiguity_error(subject.counters())
    t.check(err is None, f"{label}: counter output not contiguous after restore: {err}")
    t.kill_restored(rp, subject.pid, label)


def image_sections(data):
    """[(offset, type, length)] of the sections of an image (format.h layout)."""
    out, off = [], HEADER_SIZE
    while off + 32 <= len(data):
        magic, typ, _owner, _check, length, _pcs = struct.unpack_from("<IIIIQQ", data, off)
        if magic != 0x45535243:
            raise ValueError(f"no section magic at byte {off}")
        out.append((off, typ, length))
        off += 32 + length
        if typ == 0xFFFF:
            break
    return out


def reseal_image(data):
    """Recompute every checksum of an image whose header was edited: the header
    checksum, and the trailer's stream checksum (the chain over the image header
    and every section header before the trailer, docs/image-format.md) with the
    trailer section's payload checksum and header check.  The result is a
    consistent image differing from the input only in the edited fields."""
    data = bytearray(data)
    struct.pack_into("<Q", data, HEADER_CHECKSUM_OFFSET, xxh3_64(data[:HEADER_CHECKSUM_OFFSET]))
    off, typ, length = image_sections(data)[-1]
    if typ != 0xFFFF or length != 24:
        raise ValueError("last section is not a 24-byte trailer")
    count, stream_bytes, _ = struct.unpack_from("<QQQ", data, off + 32)
    if stream_bytes != off:
        raise ValueError(f"trailer stream_bytes {stream_bytes} != trailer offset {off}")
    chain = bytes(data[:128])
    for s_off, _, _ in image_sections(data)[:-1]:
        chain += bytes(data[s_off:s_off + 32])
    struct.pack_into("<QQQ", data, off + 32, count, stream_bytes, xxh3_64(chain))
    struct.pack_into("<Q", data, off + 24, xxh3_64(data[off + 32:off + 56]))
    struct.pack_into("<I", data, off + 12, 0)
    struct.pack_into("<I", data, off + 12, xxh3_64(data[off:off + 32]) & 0xFFFFFFFF)
    return bytes(data)
