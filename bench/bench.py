#!/usr/bin/env python3
"""crest benchmark harness: checkpoint/restart times, freeze time, image size, throughput
against this machine's floors, peak RSS of the tools. Standard library only.

Run through bench/run; bench/README.md says what every column means and how it is measured.
"""
import argparse
import ctypes
import datetime
import json
import mmap
import os
import platform
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
LIBC = ctypes.CDLL(None, use_errno=True)
PAGE = os.sysconf("SC_PAGE_SIZE")
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)

# Offsets in the heartbeat page (bench/workloads/shared.h).
OFF_MAGIC, OFF_READY, OFF_HB, OFF_GAP, OFF_GAP_END = 0, 8, 16, 24, 32
OFF_VSEQ, OFF_VSTATUS, OFF_PID, OFF_SUM_EXP, OFF_SUM_FOUND, OFF_NPROCS = 40, 48, 56, 64, 72, 80
OFF_SLOTS, SLOT_SIZE = 128, 32
HB_FILE_SIZE = 8192


CODEC_THREADS = 2  # cr_checkpoint's compressing writer threads (src/checkpoint/page_pipeline.cc)


class Workload:
    def __init__(self, name, desc, args, touched, resident, quick=False, full=True, codec=None):
        self.name, self.desc, self.args = name, desc, [str(a) for a in args]
        self.codec = codec          # --compress=CODEC for the checkpoints, and the codec floor
        self.touched = touched      # bytes the workload wrote: the throughput numerator
        self.resident = resident    # bytes of memory it holds (for the fits-in-memory check)
        self.quick, self.full = quick, full


def workloads():
    small_maps = 10000
    return [
        Workload("rand-64M", "64 MiB of random data", ["mem", 64 * MiB, 0, 0], 64 * MiB, 64 * MiB, quick=True),
        Workload("rand-256M", "256 MiB of random data", ["mem", 256 * MiB, 0, 0], 256 * MiB, 256 * MiB,
                 quick=True, full=False),
        Workload("rand-1G", "1 GiB of random data", ["mem", GiB, 0, 0], GiB, GiB),
        Workload("rand-4G", "4 GiB of random data", ["mem", 4 * GiB, 0, 0], 4 * GiB, 4 * GiB),
        Workload("zero-written-4G", "4 GiB: 2 GiB random, then 2 GiB written with zeros (real pages)",
                 ["mem", 2 * GiB, 2 * GiB, 0], 4 * GiB, 4 * GiB),
        Workload("untouched-half-4G", "4 GiB mapping: 2 GiB random, 2 GiB never touched",
                 ["mem", 2 * GiB, 0, 2 * GiB], 2 * GiB, 2 * GiB),
        Workload("untouched-1G", "1 GiB mapped, never touched", ["mem", 0, 0, GiB], 0, 0, quick=True),
        Workload("maps-10k", "10,000 mappings of one random page each", ["maps", small_maps, 1],
                 small_maps * PAGE, small_maps * PAGE, quick=True),
        Workload("threads-64", "64 threads, 64 MiB of random data", ["threads", 64, 64 * MiB], 64 * MiB, 64 * MiB),
        Workload("tree-16", "16 processes (binary tree), 64 MiB of random data each", ["tree", 16, 64 * MiB],
                 16 * 64 * MiB, 16 * 64 * MiB),
        Workload("text-1G-zstd1", "1 GiB of log-like text, checkpointed with --compress=zstd:1",
                 ["text", GiB], GiB, GiB, codec="zstd:1"),
        Workload("text-1G-lz4", "1 GiB of log-like text, checkpointed with --compress=lz4",
                 ["text", GiB], GiB, GiB, codec="lz4"),
    ]


class BenchError(Exception):
    """A failure of one row (the row says why; the run goes on)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def human(n):
    if n is None:
        return "-"
    if n >= GiB:
        return "%.2f GiB" % (n / GiB)
    if n >= MiB:
        return "%.1f MiB" % (n / MiB)
    if n >= KiB:
        return "%.0f KiB" % (n / KiB)
    return "%d B" % n


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0]) * KiB
    return out


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def fs_type(path):
    path = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            mnt = parts[1].replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, kind = mnt, parts[2]
    return kind


def last_line(path):
    try:
        with open(path, errors="replace") as f:
            lines = [l.strip() for l in f if l.strip()]
        return lines[-1] if lines else ""
    except OSError:
        return ""


class Proc:
    """A child started with posix_spawn (no shell, no Python in between) and waited through
    a pidfd, so that a wait can time out without a polling loop."""

    def __init__(self, argv, stdout, stderr=None, setsid=True, env=None):
        acts = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
                (os.POSIX_SPAWN_OPEN, 2, stderr or stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)]
        self.argv = argv
        self.t0 = time.monotonic_ns()
        self.pid = os.posix_spawn(argv[0], argv, env or os.environ, file_actions=acts, setsid=setsid)
        self.pidfd = os.pidfd_open(self.pid)
        self.status = None
        self.rusage = None
        self.t1 = None

    def alive(self):
        return self.status is None

    def wait(self, timeout):
        """Wait up to timeout seconds; returns True once reaped."""
        if self.status is not None:
            return True
        p = select.poll()
        p.register(self.pidfd, select.POLLIN)
        if not p.poll(max(0, int(timeout * 1000))):
            return False
        _, status, ru = os.wait4(self.pid, 0)
        self.t1 = time.monotonic_ns()
        self.status, self.rusage = status, ru
        os.close(self.pidfd)
        return True

    def exited_now(self):
        return self.wait(0)

    def returncode(self):
        return os.waitstatus_to_exitcode(self.status)

    def kill(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait(30)


class Heartbeat:
    def __init__(self, path):
        self.path = path
        with open(path, "wb") as f:
            f.write(b"\0" * HB_FILE_SIZE)
        self.fd = os.open(path, os.O_RDWR)
        self.mm = mmap.mmap(self.fd, HB_FILE_SIZE)

    def get(self, off):
        return struct.unpack_from("<Q", self.mm, off)[0]

    def put(self, off, v):
        struct.pack_into("<Q", self.mm, off, v)

    def slot_pid(self, i):
        return self.get(OFF_SLOTS + SLOT_SIZE * i)

    def reset_gap(self):
        self.put(OFF_GAP, 0)
        self.put(OFF_GAP_END, 0)

    def close(self):
        self.mm.close()
        os.close(self.fd)


def reap_orphans():
    """Reap whatever child has exited (orphans reparented to us, the subreaper). Only called
    when no Proc we still wait for can have exited unseen."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def proc_children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def proc_status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_of(pids):
    """utime + stime of these processes (clock ticks: 10 ms), those that exist."""
    total = 0.0
    for pid in pids:
        u, s = proc_cpu_seconds(pid)
        if u is not None:
            total += u + s
    return total


class Variant:
    """How a row's runs are made: which crest (the working tree or --rev: "new"; --against:
    "against"), fresh pages warm or cold, the machine quiet or loaded by one CPU-bound
    program beside the tool (bench/README.md, "Variants")."""

    def __init__(self, build, temp, load):
        self.build, self.temp, self.load = build, temp, load

    def name(self):
        return "%s %s %s" % (self.build, self.temp, self.load)


def proc_cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        hz = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / hz, int(fields[12]) / hz
    except (OSError, IndexError, ValueError):
        return None, None


class Bench:
    def __init__(self, opts):
        self.o = opts
        self.build = os.path.realpath(opts.build_dir)
        self.crest_build = os.path.join(self.build, "crest-rev" if opts.rev else "crest")
        self.tools = os.path.join(self.crest_build, "tools")
        # --against REV: a second crest, run in the same rounds as the first (interleaved).
        self.against_build = os.path.join(self.build, "crest-against")
        self.against_tools = os.path.join(self.against_build, "tools")
        self.against_commit = None
        self.spinner = None      # the CPU-bound program of a loaded run
        self.variant = Variant("new", "warm", "quiet")  # of the run under way
        self.workload_bin = os.path.join(self.build, "workload")
        self.floor_bin = os.path.join(self.build, "floor")
        self.procs = []          # every Proc started, for cleanup
        self.foreign = set()     # pids not our children (restored processes, tree members)
        self.scratch = []        # directories to remove at the end
        self.hb_dir = None
        self.img_dirs = {}
        self.memcpy = []
        self.failures = 0
        self.seq = 0
        self.built_commit = None  # the commit built with --rev (HEAD may move meanwhile)

    # ---- build ---------------------------------------------------------------------------
    def run_quiet(self, argv, what):
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            log(r.stdout[-4000:])
            raise SystemExit("bench: %s failed (exit %d): %s" % (what, r.returncode, " ".join(argv)))

    def build_crest(self, rev, cb, src_name):
        """Builds crest's tools in cb, from the working tree or (rev) from a snapshot of a
        commit; returns the commit built (None for the working tree)."""
        src, commit = REPO, None
        if rev:
            # A snapshot of a commit (git archive: read-only for the repository), for numbers
            # that do not depend on work in progress in the working tree.
            src = os.path.join(self.build, src_name)
            commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--verify", rev + "^{commit}"],
                                    stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
            stamp = src + ".commit"
            have = open(stamp).read().strip() if os.path.exists(stamp) else ""
            if have != commit:  # extract again only for another commit (keeps the build incremental)
                shutil.rmtree(src, ignore_errors=True)
                os.makedirs(src)
                arch = subprocess.run(["git", "-C", REPO, "archive", commit], stdout=subprocess.PIPE, check=True)
                subprocess.run(["tar", "-x", "-C", src], input=arch.stdout, check=True)
                with open(stamp, "w") as f:
                    f.write(commit + "\n")
        log("bench: building crest from %s in %s" % (src if not rev else "%s (%s)" % (rev, src), cb))
        self.run_quiet(["cmake", "-S", src, "-B", cb, "-DCMAKE_BUILD_TYPE=" + self.o.build_type], "cmake configure")
        self.run_quiet(["cmake", "--build", cb, "-j%d" % (os.cpu_count() or 2), "--target",
                        "cr_checkpoint", "cr_restart", "cr_info"], "cmake build")
        return commit

    def do_build(self):
        os.makedirs(self.build, exist_ok=True)
        self.built_commit = self.build_crest(self.o.rev, self.crest_build, "src")
        if self.o.against:
            self.against_commit = self.build_crest(self.o.against, self.against_build, "src-against")
        wl = os.path.join(BENCH_DIR, "workloads")
        self.run_quiet(["gcc", "-O2", "-Wall", "-Wextra", "-pthread", "-o", self.workload_bin,
                        os.path.join(wl, "workload.c")], "building workload.c")
        self.run_quiet(["gcc", "-O2", "-Wall", "-Wextra", "-pthread", "-o", self.floor_bin,
                        os.path.join(wl, "floor.c"), "-lzstd", "-llz4"], "building floor.c")

    # ---- processes -----------------------------------------------------------------------
    def spawn(self, argv, out, err=None):
        env = None
        if self.variant.build == "against" and self.o.against_env:
            # --against-env VAR=VALUE: the same tools, run with VAR=VALUE.
            env = dict(os.environ)
            for kv in self.o.against_env:
                k, _, v = kv.partition("=")
                env[k] = v
        p = Proc(argv, out, err, env=env)
        self.procs.append(p)
        return p

    def ours(self, pid):
        """Is pid one of the binaries this bench runs? (Checked before any kill of a pid that
        is not our own child, so that a reused pid is never signalled.)"""
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            return False
        return exe in (self.workload_bin, self.floor_bin) or exe.startswith(self.tools + "/") or \
            exe.startswith(self.against_tools + "/")

    def kill_foreign(self, pid):
        if pid and self.ours(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cleanup(self):
        self.stop_load()
        for pid in list(self.foreign):
            self.kill_foreign(pid)
        self.foreign.clear()
        for p in self.procs:
            try:
                p.kill()
            except OSError:
                pass
        self.procs = []
        # Orphans reparented to us (we are a child subreaper): reap them.
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
        for d in self.scratch:
            shutil.rmtree(d, ignore_errors=True)
        self.scratch = []

    def end_run_processes(self, hb):
        """Kill every process of the current run, by pid: the workload (original or
        restored) and its tree members first, then our own children (cr_restart exits by
        itself once its restored process is dead), then reap orphans handed to us."""
        if hb is not None:
            pids = {hb.get(OFF_PID)} | {hb.slot_pid(i) for i in range(max(1, hb.get(OFF_NPROCS)))}
            for pid in pids | self.foreign:
                self.kill_foreign(pid)
            self.foreign.clear()
        for p in self.procs:
            if not p.wait(5):
                p.kill()
        self.procs = []
        reap_orphans()

    # ---- one run -------------------------------------------------------------------------
    def timeout_for(self, nbytes):
        return 60 + nbytes / (50 * MiB)

    def tool(self, name):
        against = self.variant.build == "against" and self.o.against
        return os.path.join(self.against_tools if against else self.tools, name)

    def settle(self, d):
        """syncfs() the image directory's file system before a timed write, so that no
        write-back or discard left by an earlier file (the disk is mounted with 'discard')
        lands in the next measurement, be it the tool's or the floor's."""
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            LIBC.syncfs(fd)
        finally:
            os.close(fd)

    def warm(self, nbytes):
        """Touch and free as much fresh memory as the next timed step will allocate, right
        before it (bench/README.md, "Warm pages"): this VM's balloon reports freed pages to
        the host a few seconds after they are freed, and the first touch of a reported page
        faults on the host (~1 GiB/s here against ~3 for a page the host still backs). Without
        it, whichever step came after a pause drew cold pages: the tool's first checkpoint,
        which follows the workload's setup, did; the floors, which follow the restart's
        frees, did not."""
        if self.variant.temp == "cold":
            self.cool()
            return
        if self.o.no_warm or nbytes <= 0:
            return
        subprocess.run([self.floor_bin, "warm", str(int(nbytes))], check=True)

    def cool(self):
        """Cold pages: wait until the memory freed by the step before has gone back to the
        host (the balloon's free page reporting runs 2 s after pages are freed), so that
        whatever the next step allocates faults on the host, as a checkpoint or restart
        does on a machine whose memory was idle (bench/README.md, "Cold pages")."""
        time.sleep(self.o.cold_wait)

    def start_load(self):
        if self.variant.load == "loaded":
            self.spinner = Proc([self.floor_bin, "spin"], "/dev/null")

    def stop_load(self):
        if self.spinner is not None:
            try:
                self.spinner.kill()
            except ChildProcessError:  # reaped as an orphan meanwhile
                pass
            self.spinner = None

    def checkpoint(self, wl, hb, pid, img, kill, logf):
        argv = [self.tool("cr_checkpoint")] + (["--kill"] if kill else []) + \
            (["--compress=" + wl.codec] if wl.codec else []) + ["-f", img, str(pid)]
        self.settle(os.path.dirname(img))
        self.warm(wl.touched)  # the image
        hb.reset_gap()
        members = self.members(hb)
        cpu0 = cpu_of(members)
        p = self.spawn(argv, logf)
        if not p.wait(self.timeout_for(wl.touched)):
            raise BenchError("error", "cr_checkpoint did not finish in time")
        rc = p.returncode()
        if rc != 0:
            msg = last_line(logf) or ("exit %d" % rc)
            status = "unsupported" if rc == 95 else "error"
            raise BenchError(status, "%s (exit %d)" % (msg, rc))
        # The tool's CPU (wait4) and what its targets spent meanwhile (syscalls injected
        # into them run on their clock; their own 100 us heartbeat loop is included).
        p.cpu_s = p.rusage.ru_utime + p.rusage.ru_stime + max(0.0, cpu_of(members) - cpu0)
        return p

    def members(self, hb):
        return {hb.get(OFF_PID)} | {hb.slot_pid(i) for i in range(hb.get(OFF_NPROCS))} - {0}

    def one_run(self, wl, d, run_no, variant):
        self.variant = variant
        self.seq += 1
        tag = "%s.%d" % (wl.name, self.seq)
        img_dir = self.img_dirs[d]
        hb = Heartbeat(os.path.join(self.hb_dir, "hb." + tag))
        wlog = os.path.join(self.hb_dir, "workload.%s.log" % tag)
        tlog = os.path.join(self.hb_dir, "tools.%s.log" % tag)
        img = os.path.join(img_dir, "img." + tag)
        floor_file = os.path.join(img_dir, "floor." + tag)
        r = {"run": run_no, "variant": variant.name(), "loadavg": loadavg()}
        t_run = time.monotonic_ns()
        try:
            self.start_load()
            # Start the workload and wait for its ready marker.
            w = self.spawn([self.workload_bin, hb.path, str(os.getpid())] + wl.args, wlog)
            deadline = time.time() + self.timeout_for(wl.resident)
            while not hb.get(OFF_READY):
                if w.exited_now():
                    raise BenchError("error", "workload failed: " + last_line(wlog))
                if time.time() > deadline:
                    raise BenchError("error", "workload not ready in time")
                time.sleep(0.01)
            for i in range(hb.get(OFF_NPROCS)):
                if hb.slot_pid(i) and hb.slot_pid(i) != w.pid:
                    self.foreign.add(hb.slot_pid(i))
            sum_expected = hb.get(OFF_SUM_EXP)
            r["workload_ready_s"] = (time.monotonic_ns() - w.t0) / 1e9

            # 1. Checkpoint, the target runs on (the default): time, freeze, image size, RSS.
            p = self.checkpoint(wl, hb, w.pid, img, False, tlog)
            r["ckpt_s"] = (p.t1 - p.t0) / 1e9
            r["ckpt_maxrss_kib"] = p.rusage.ru_maxrss
            r["ckpt_user_s"], r["ckpt_sys_s"] = p.rusage.ru_utime, p.rusage.ru_stime
            r["ckpt_cpu_s"] = p.cpu_s
            deadline = time.time() + 30
            while hb.get(OFF_HB) <= p.t1:   # the target has run again after the tool ended
                if time.time() > deadline:
                    raise BenchError("error", "target did not run again after the checkpoint")
                time.sleep(0.001)
            gap, gap_end = hb.get(OFF_GAP), hb.get(OFF_GAP_END)
            r["freeze_s"] = gap / 1e9
            r["resumed_after_start_s"] = (gap_end - p.t0) / 1e9
            r["image_bytes"] = os.stat(img).st_size
            os.unlink(img)

            # 2. Checkpoint and kill: time; then reap the original so that its pid is free.
            p = self.checkpoint(wl, hb, w.pid, img, True, tlog)
            r["ckpt_kill_s"] = (p.t1 - p.t0) / 1e9
            r["ckpt_kill_maxrss_kib"] = p.rusage.ru_maxrss
            if not w.wait(30):
                raise BenchError("error", "the original was not killed by cr_checkpoint --kill")
            # The other processes of a tree come to us once their parents are dead (we are a
            # child subreaper): reap them all, so that every pid is free for the restart.
            members = [hb.slot_pid(i) for i in range(hb.get(OFF_NPROCS)) if hb.slot_pid(i) != w.pid]
            deadline = time.time() + 30
            while any(os.path.exists("/proc/%d" % m) for m in members if m):
                if time.time() > deadline:
                    raise BenchError("error", "processes of the tree still exist after cr_checkpoint --kill")
                reap_orphans()
                time.sleep(0.005)

            # 3. Restart: from the spawn of cr_restart until the restored process's first
            #    heartbeat (the end of its largest gap, stamped by the process itself).
            self.settle(img_dir)
            self.warm(wl.touched)  # the restored process's memory
            hb.reset_gap()
            rlog = os.path.join(self.hb_dir, "restart.%s.log" % tag)
            rp = self.spawn([self.tool("cr_restart"), img], rlog)
            deadline = time.time() + self.timeout_for(wl.touched)
            while True:
                gap_end = hb.get(OFF_GAP_END)
                if gap_end >= rp.t0:
                    break
                if rp.exited_now():
                    raise BenchError("error", "cr_restart: %s (exit %d)" % (last_line(rlog), rp.returncode()))
                if time.time() > deadline:
                    raise BenchError("error", "restored process did not run in time")
                time.sleep(0.001)
            r["restart_s"] = (gap_end - rp.t0) / 1e9
            restored = hb.get(OFF_PID)
            self.foreign.add(restored)
            r["restart_maxrss_kib"] = proc_status_kib(rp.pid, "VmHWM")
            r["restart_user_s"], r["restart_sys_s"] = proc_cpu_seconds(rp.pid)
            # cr_restart's CPU (not wait4's: it reaps the restored process later) and the
            # restored processes' own until they run (calls injected into them, their faults).
            r["restart_cpu_s"] = cpu_of([rp.pid]) + cpu_of(self.members(hb))
            if restored not in proc_children(rp.pid):
                raise BenchError("error", "restored pid %d is not a child of cr_restart" % restored)

            # 4. Verify the restored memory: SIGUSR1, then OK/BAD from the process.
            seq = hb.get(OFF_VSEQ)
            os.kill(restored, signal.SIGUSR1)
            deadline = time.time() + self.timeout_for(wl.resident)
            while hb.get(OFF_VSEQ) == seq:
                if time.time() > deadline:
                    raise BenchError("BAD", "restored process did not answer the verification")
                if rp.exited_now():
                    raise BenchError("BAD", "restored process died: cr_restart exit %d" % rp.returncode())
                time.sleep(0.005)
            verdict = last_line(wlog)
            ok = hb.get(OFF_VSTATUS) == 1 and verdict == "OK sum=%016x" % sum_expected
            r["verify"] = "OK" if ok else "BAD"
            if not ok:
                raise BenchError("BAD", "verification failed: %s" % verdict)
            self.end_run_processes(hb)
            os.unlink(img)

            # 5. Floors, in the same directory, right after the tool's run.
            if wl.touched:
                self.settle(img_dir)
                self.warm(2 * wl.touched)  # its memory (touched untimed), then its file
                out = subprocess.run([self.floor_bin, "dump", floor_file, str(wl.touched)],
                                     stdout=subprocess.PIPE, text=True, check=True).stdout
                r["floor_dump_s"] = float(out)
                self.settle(img_dir)
                self.warm(wl.touched)  # the memory it reads the file into
                out = subprocess.run([self.floor_bin, "restore", floor_file],
                                     stdout=subprocess.PIPE, text=True, check=True).stdout
                r["floor_restore_s"] = float(out)
                os.unlink(floor_file)
            if wl.codec:
                # The codec floor: the same text compressed by a plain program with as many
                # threads as cr_checkpoint's compressing writers, no I/O.
                out = subprocess.run([self.floor_bin, "compress", wl.codec, str(wl.touched), str(CODEC_THREADS)],
                                     stdout=subprocess.PIPE, text=True, check=True).stdout.split()
                r["floor_codec_s"], r["floor_codec_out_bytes"] = float(out[0]), int(out[1])
            r["run_wall_s"] = (time.monotonic_ns() - t_run) / 1e9
            return r
        finally:
            self.stop_load()
            self.end_run_processes(hb)
            hb.close()
            for f in (img, floor_file, floor_file + ".tmp", hb.path):
                try:
                    os.unlink(f)
                except FileNotFoundError:
                    pass

    # ---- space ---------------------------------------------------------------------------
    def does_not_fit(self, wl, d):
        image_est = int(wl.touched * 1.01) + 16 * MiB
        st = os.statvfs(d)
        free = st.f_bavail * st.f_frsize
        if free < image_est + 64 * MiB:
            return "needs %s free in %s, %s free" % (human(image_est + 64 * MiB), d, human(free))
        tmpfs = fs_type(d) in ("tmpfs", "ramfs")
        need = wl.resident + (image_est if tmpfs else 0) + GiB
        avail = meminfo()["MemAvailable"]
        if avail < need:
            return "needs %s of memory, %s available" % (human(need), human(avail))
        return None

    def memcpy_sample(self):
        out = subprocess.run([self.floor_bin, "memcpy", str(GiB)], stdout=subprocess.PIPE, text=True,
                             check=True).stdout
        return GiB / float(out) / GiB

    # ---- rows ----------------------------------------------------------------------------
    def run_rows(self, wl, d, variants):
        """One row per variant; their runs interleaved (round i of every variant, then
        round i + 1), so that a change of the machine's load or page costs during the rows
        reaches every variant alike."""
        rows = []
        for v in variants:
            rows.append({"workload": wl.name, "description": wl.desc, "dir": d, "fs": fs_type(d),
                         "variant": v.name(), "build": v.build, "temp": v.temp, "load": v.load,
                         "touched_bytes": wl.touched, "codec": wl.codec, "status": "ok", "message": "", "runs": [],
                         "loadavg_before": loadavg()})
        why = self.does_not_fit(wl, d)
        if why:
            for row in rows:
                row["status"], row["message"] = "skipped", why
            log("bench: %-18s %-10s skipped: %s" % (wl.name, d, why))
            return rows
        for i in range(self.o.runs + 1):
            for v, row in zip(variants, rows):
                if row["status"] != "ok":
                    continue
                try:
                    r = self.one_run(wl, d, i, v)
                except (BenchError, OSError, subprocess.CalledProcessError, ValueError) as e:
                    if not isinstance(e, BenchError):
                        e = BenchError("error", "%s: %s" % (type(e).__name__, e))
                    row["status"], row["message"] = e.status, e.message
                    if e.status not in ("unsupported",):
                        self.failures += 1
                    log("bench: %-18s %-10s %s: %s: %s" % (wl.name, d, v.name(), e.status, e.message))
                    continue
                r["warmup"] = i == 0
                row["runs"].append(r)
                log("bench: %-18s %-10s %-20s run %d%s: ckpt %.3fs (cpu %.2f) kill %.3fs freeze %.3fs "
                    "restart %.3fs (cpu %.2f)%s" % (
                        wl.name, d, v.name(), i, " (warm-up)" if i == 0 else "", r["ckpt_s"], r["ckpt_cpu_s"],
                        r["ckpt_kill_s"], r["freeze_s"], r["restart_s"], r["restart_cpu_s"],
                        (" floors %.3fs %.3fs" % (r["floor_dump_s"], r["floor_restore_s"]))
                        if "floor_dump_s" in r else ""))
        for row in rows:
            if row["status"] == "ok":
                self.summarize(wl, row)
        return rows

    def summarize(self, wl, row):
        runs = [r for r in row["runs"] if not r["warmup"]]
        s = {}

        def stat(key):
            vals = [r[key] for r in runs if r.get(key) is not None]
            if vals:
                s[key] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}

        for k in ("ckpt_s", "ckpt_kill_s", "freeze_s", "resumed_after_start_s", "restart_s", "floor_dump_s",
                  "floor_restore_s", "image_bytes", "ckpt_maxrss_kib", "ckpt_kill_maxrss_kib", "restart_maxrss_kib",
                  "ckpt_user_s", "ckpt_sys_s", "restart_user_s", "restart_sys_s", "ckpt_cpu_s", "restart_cpu_s",
                  "floor_codec_s",
                  "floor_codec_out_bytes"):
            stat(k)
        if wl.touched:
            t = wl.touched / GiB
            for r in runs:
                r["dump_gibps"] = t / r["ckpt_s"]
                r["restart_gibps"] = t / r["restart_s"]
                r["floor_dump_gibps"] = t / r["floor_dump_s"]
                r["floor_restore_gibps"] = t / r["floor_restore_s"]
                r["dump_ratio"] = r["floor_dump_s"] / r["ckpt_s"]
                r["ckpt_cpu_per_gib"] = r["ckpt_cpu_s"] / t
                r["restart_cpu_per_gib"] = r["restart_cpu_s"] / t
                r["restart_ratio"] = r["floor_restore_s"] / r["restart_s"]
                if r.get("floor_codec_s"):
                    r["floor_codec_gibps"] = t / r["floor_codec_s"]
                    r["codec_ratio"] = r["floor_codec_s"] / r["ckpt_s"]
            for k in ("dump_gibps", "restart_gibps", "floor_dump_gibps", "floor_restore_gibps", "dump_ratio",
                      "restart_ratio", "floor_codec_gibps", "codec_ratio", "ckpt_cpu_per_gib", "restart_cpu_per_gib"):
                stat(k)
        row["summary"] = s

    # ---- output --------------------------------------------------------------------------
    def machine(self):
        mi = meminfo()
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", self.built_commit or self.o.rev or "HEAD"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "src", "tools"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
        if self.o.rev:
            dirty = ""
        return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "loadavg_start": loadavg(),
                "nproc": os.cpu_count(), "cpu": cpu, "mem_total_bytes": mi["MemTotal"],
                "kernel": platform.release(), "crest_commit": commit + ("+local changes" if dirty else ""),
                "build_type": self.o.build_type}

    def table(self, rows, mach):
        def t(s, key):
            v = s.get(key)
            return "-" if v is None else "%.3f (%.3f)" % (v["median"], v["min"])

        def f(s, key, fmt="%.2f"):
            v = s.get(key)
            return "-" if v is None else fmt % v["median"]

        def rss(s, key):
            v = s.get(key)
            return "-" if v is None else "%.1f MiB" % (v["max"] / 1024)

        head = ["workload", "dir", "variant", "touched", "image", "ckpt s", "ckpt --kill s", "freeze s", "restart s",
                "dump GiB/s", "dump floor GiB/s", "dump / floor", "restart GiB/s", "restart floor GiB/s",
                "restart / floor", "ckpt CPU s/GiB", "restart CPU s/GiB", "ckpt RSS", "restart RSS", "result"]
        lines = []
        mc = self.memcpy_summary()
        if mach.get("against_commit"):
            lines.append("Variant \"new\": crest %s; \"against\": crest %s, in the same rounds." % (
                mach["crest_commit"], mach["against_commit"]))
        lines.append("crest %s (%s), %s, %d CPUs (%s), %s RAM, kernel %s; %d runs + 1 warm-up; %s; "
                     "load average %s at the start, %s at the end; memcpy 1 GiB single thread: %s" % (
                         mach["crest_commit"], mach["build_type"], mach["date"], mach["nproc"], mach["cpu"],
                         human(mach["mem_total_bytes"]), mach["kernel"], self.o.runs,
                         "fresh pages: %s%s" % (self.o.temp, " (warm: not warmed, --no-warm)" if self.o.no_warm else ""),
                         mach["loadavg_start"], mach.get("loadavg_end", "?"),
                         "%.2f GiB/s median (%.2f min, %.2f max) of %d" % (mc["median"], mc["min"], mc["max"],
                                                                              len(mc["samples_gibps"]))
                         if mc else "-"))
        lines.append("Times: median (min), seconds. Throughput: touched bytes / median time; "
                     "ratios: median of per-run floor time / tool time. RSS: largest peak over the runs.")
        lines.append("")
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        for row in rows:
            s = row.get("summary", {})
            img = s.get("image_bytes")
            result = row["status"] if row["status"] == "ok" else "%s: %s" % (row["status"], row["message"])
            if row["status"] == "ok":
                result = "OK (%d/%d restores verified)" % (len([r for r in row["runs"] if r.get("verify") == "OK"]),
                                                           len(row["runs"]))
            cells = [row["workload"], row["dir"], row["variant"], human(row["touched_bytes"]),
                     human(img["median"]) if img else "-",
                     t(s, "ckpt_s"), t(s, "ckpt_kill_s"), t(s, "freeze_s"), t(s, "restart_s"),
                     f(s, "dump_gibps"), f(s, "floor_dump_gibps"), f(s, "dump_ratio"),
                     f(s, "restart_gibps"), f(s, "floor_restore_gibps"), f(s, "restart_ratio"),
                     f(s, "ckpt_cpu_per_gib"), f(s, "restart_cpu_per_gib"), rss(s, "ckpt_maxrss_kib"), rss(s, "restart_maxrss_kib"), result.replace("|", "/")]
            lines.append("| " + " | ".join(cells) + " |")
        codec_rows = [row for row in rows if row.get("codec") and row["status"] == "ok"]
        if codec_rows:
            lines.append("")
            lines.append("Compression rows: input GiB/s = touched GiB / median ckpt s; the codec floor is "
                         "`floor compress CODEC BYTES %d`: the same text compressed in 4 MiB chunks by %d threads "
                         "of a plain program, no I/O." % (CODEC_THREADS, CODEC_THREADS))
            lines.append("")
            chead = ["workload", "dir", "variant", "codec", "input", "image", "ckpt s", "input GiB/s", "codec floor GiB/s",
                     "ckpt / codec floor", "restart s"]
            lines.append("| " + " | ".join(chead) + " |")
            lines.append("|" + "|".join("---" for _ in chead) + "|")
            for row in codec_rows:
                s = row["summary"]
                img = s.get("image_bytes")
                cells = [row["workload"], row["dir"], row["variant"], row["codec"], human(row["touched_bytes"]),
                         human(img["median"]) if img else "-", t(s, "ckpt_s"), f(s, "dump_gibps"),
                         f(s, "floor_codec_gibps"), f(s, "codec_ratio"), t(s, "restart_s")]
                lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def memcpy_summary(self):
        samples = self.memcpy[1:]  # the first sample is the warm-up
        if not samples:
            return None
        return {"samples_gibps": samples, "median": statistics.median(samples), "min": min(samples),
                "max": max(samples)}

    # ---- main ----------------------------------------------------------------------------
    def main(self):
        if not self.o.no_build:
            self.do_build()
        for t in ("cr_checkpoint", "cr_restart"):
            if not os.access(self.tool(t), os.X_OK):
                raise SystemExit("bench: %s not found (build it, or drop --no-build)" % self.tool(t))
        # Become a child subreaper: processes orphaned by a killed parent (a tree member, a
        # restored process whose cr_restart died) come to us, and we reap them.
        try:
            LIBC.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):
            pass
        wls = [w for w in workloads() if (w.quick if self.o.quick else w.full)]
        if self.o.only:
            names = [n for arg in self.o.only for n in arg.split(",") if n]
            known = {w.name: w for w in workloads()}
            bad = [n for n in names if n not in known]
            if bad:
                raise SystemExit("bench: unknown workload %s; known: %s" % (", ".join(bad), ", ".join(known)))
            wls = [known[n] for n in names]
        dirs = self.o.dir or ["/dev/shm", "/var/tmp"]
        hb_parent = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
        self.hb_dir = tempfile.mkdtemp(prefix="crest-bench-hb.", dir=hb_parent)
        self.scratch.append(self.hb_dir)
        for d in dirs:
            if not os.path.isdir(d):
                raise SystemExit("bench: --dir %s: not a directory" % d)
            self.img_dirs[d] = tempfile.mkdtemp(prefix="crest-bench.", dir=d)
            self.scratch.append(self.img_dirs[d])
        mach = self.machine()
        log("bench: %d workloads x %d directories, %d runs + 1 warm-up each" % (len(wls), len(dirs), self.o.runs))
        self.memcpy.append(self.memcpy_sample())  # warm-up sample
        self.memcpy.append(self.memcpy_sample())
        builds = ["new"] + (["against"] if self.o.against or self.o.against_env else [])
        temps = [t for t in self.o.temp.split(",") if t]
        loads = [l for l in self.o.load.split(",") if l]
        variants = [Variant(b, t, l) for l in loads for t in temps for b in builds]
        if self.o.against:
            mach["against_commit"] = self.against_commit[:7]
        if self.o.against_env:
            mach["against_commit"] = "%s with %s" % (mach["against_commit"] if self.o.against else mach["crest_commit"],
                                                     " ".join(self.o.against_env))
        rows = []
        for wl in wls:
            for d in dirs:
                rows.extend(self.run_rows(wl, d, variants))
            self.memcpy.append(self.memcpy_sample())  # one sample per workload, between the rows
        mach["loadavg_end"] = loadavg()
        table = self.table(rows, mach)
        print(table, flush=True)
        out = {"machine": mach, "options": {"quick": self.o.quick, "runs": self.o.runs, "dirs": dirs,
                                            "only": self.o.only, "warm": not self.o.no_warm,
                                            "temp": self.o.temp, "load": self.o.load, "against": self.o.against,
                                            "against_env": self.o.against_env,
                                            "cold_wait_s": self.o.cold_wait},
               "memcpy": self.memcpy_summary(), "rows": rows, "table": table}
        with open(self.o.json, "w") as f:
            json.dump(out, f, indent=1)
        log("bench: wrote %s" % self.o.json)
        if self.failures:
            log("bench: %d row(s) FAILED (error or BAD verification)" % self.failures)
            return 1
        return 0


def main():
    ap = argparse.ArgumentParser(prog="bench/run", description="crest benchmark (see bench/README.md)")
    ap.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    ap.add_argument("--runs", type=int, default=3, help="measured runs per row, after one warm-up (default 3)")
    ap.add_argument("--only", action="append", metavar="NAME", help="only this workload (repeat, or a,b,c)")
    ap.add_argument("--dir", action="append", metavar="DIR",
                    help="image directory (repeatable; default /dev/shm and /var/tmp)")
    ap.add_argument("--json", default=os.path.join(BENCH_DIR, "results.json"), help="where to write the JSON")
    ap.add_argument("--build-dir", default=os.path.join(BENCH_DIR, ".build"), help="build directory of the bench")
    ap.add_argument("--build-type", default="RelWithDebInfo", help="CMAKE_BUILD_TYPE of crest")
    ap.add_argument("--rev", metavar="REV",
                    help="build crest from this git commit (a git archive snapshot) instead of the working tree")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already in the build directory")
    ap.add_argument("--no-warm", action="store_true",
                    help="do not touch and free fresh memory before each timed step (see bench/README.md)")
    ap.add_argument("--temp", help="fresh pages before each timed step: warm, cold or both (default: "
                    "warm,cold; --quick: warm); see bench/README.md")
    ap.add_argument("--load", default="quiet", help="quiet, loaded (one CPU-bound program beside the tool) or "
                    "quiet,loaded (default quiet)")
    ap.add_argument("--against", metavar="REV", help="also run crest built from REV, in the same rounds (interleaved)")
    ap.add_argument("--against-env", action="append", metavar="VAR=VALUE",
                    help="run the 'against' variant with VAR=VALUE in its environment (without --against: this "
                    "tree's tools, e.g. CREST_DIRECT_PAGES=0)")
    ap.add_argument("--cold-wait", type=float, default=5.0, help="seconds to wait for freed memory to go back to "
                    "the host before a cold step (default 5)")
    ap.add_argument("--list", action="store_true", help="list the workloads and exit")
    o = ap.parse_args()
    if o.list:
        for w in workloads():
            print("%-18s %s%s" % (w.name, w.desc, "" if w.full else " (--quick only)"))
        return 0
    if o.runs < 1:
        ap.error("--runs must be at least 1")
    if o.temp is None:
        o.temp = "warm" if o.quick else "warm,cold"
    if not set(o.temp.split(",")) <= {"warm", "cold"} or not set(o.load.split(",")) <= {"quiet", "loaded"}:
        ap.error("--temp takes warm and/or cold, --load quiet and/or loaded")
    o.json = os.path.abspath(o.json)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    b = Bench(o)
    try:
        return b.main()
    except KeyboardInterrupt:
        log("bench: interrupted; cleaning up")
        return 130
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not stop the cleanup
        b.cleanup()


if __name__ == "__main__":
    sys.exit(main())
