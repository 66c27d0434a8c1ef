#!/usr/bin/env python3
"""Runs one crest whole-job test: one case (a job of several processes) in one mode.

A case's processes report checkpoint points by appending to $CRTEST_CONTROL
(programs/jobtest.h):

    JOB <pid> <spec>...   what must hold before the checkpoint (and after the
                          restart, before the release): PID:S, PID:S<nr>,
                          PID:T, PID:Z, quiet
    CKPT <n>              <pid> now waits for SIGUSR2 (in rt_sigsuspend,
                          pause or rt_sigtimedwait)
    BYSTANDER <pid>       a process of the job outside the checkpoint's scope

A case without points ("timed") is checkpointed after a delay.

Every mode first runs the job plainly as the reference, then again as the
mode says, and compares stdout bytes and the job's exit status (the status
of the image's root process: the eldest process of the scope whose parent is
outside it; cr_restart mirrors it).

Modes:
  plain        the reference run only
  restart      cr_checkpoint --kill at the first point, cr_restart, release
  restore_pgid, restore_sid
               restart with the case's --restore-pgid/--restore-sid options
  continue     cr_checkpoint (no --kill) at the first point, release
  repeat       3 kill/restart cycles at the first point
  random       timed cases: restart after a random delay
  busy_all     cr_checkpoint without --kill, then cr_restart while the whole job
               still runs: must fail with exit 16 naming a pid, leave nothing
               behind; then the original job must finish as in the plain run
  busy_child   as busy_all, but the root is killed first so that only the
               other processes' pids are taken (cr_restart gets further)

After a restart the runner checks, before releasing the point, that every
checkpointed process is back with its pid, its parent (cr_restart for top-level
ones), its state (sleeping in the same syscall, stopped, zombie), untraced,
its process group and session (the original ones with --restore-pgid /
--restore-sid, cr_restart's otherwise), and its descriptors (the same fd
numbers, files, and pipes shared between the same fds), and that nothing else
runs under cr_restart. Stopped processes must stay stopped for a while.

The runner is a child subreaper, reaps everything, ends processes by pid only.
Exit status: 0 pass, 1 fail, 2 usage error, 77 skipped.
"""

import os
import re
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True    # no __pycache__ in tests/e2e
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from runner_common import (BaseRunner, RunDir, Skip, TestFailure,  # noqa: E402
                           add_run_args, arg_parser, compare, describe_status,
                           descendants_of, dump_file, norm_status, parse_args, proc_status,
                           proc_syscall, proc_table, read_bytes, read_stat, run_test)

NR_WAIT4 = 61
NR_RT_SIGTIMEDWAIT = 128
NR_PAUSE = 34
NR_RT_SIGSUSPEND = 130
POINT_SYSCALLS = {NR_RT_SIGSUSPEND, NR_PAUSE, NR_RT_SIGTIMEDWAIT}
EBUSY = 16
REPEAT_COUNT = 3
STOPPED_HOLD = 0.3     # seconds a restored stopped process must stay stopped

# ---- cases ------------------------------------------------------------------
#
# argv: "{bin}" is the directory of the built programs, "{src}" the source
# directory of tests/jobs/programs. scope: tree, pgid (the point process's
# group) or sid (its session). expect: a line the plain run's stdout must have.
# variants: mode -> (extra cr_restart arguments, ids, substitutions) where ids
# says which process group/session restored processes must be in ("orig" or
# "restart" = cr_restart's), and substitutions (old, new) turn the plain
# output into the one expected in that mode.

BASH_LOOP = ('for i in $(seq 1 30); do echo $i; sleep 0.05; done | '
             '(while read x; do echo "got $x"; done)')

CASES = {
    "tree_fork_pipes": dict(argv=["{bin}/tree_fork_pipes"]),
    # The same with the work pipes' write ends still open in the parent.
    "tree_fork_pipes_open": dict(argv=["{bin}/tree_fork_pipes", "--keep-writers"]),
    "tree_shell_pipeline": dict(
        argv=["/bin/sh", "-c",
              "seq 1 200000 | tr 0-9 a-j | {bin}/pipe_consumer; echo \"pipeline status $?\""]),
    "tree_bash_pipeline": dict(
        argv=["bash", "-c", BASH_LOOP], expect=b"got 30",
        timed=dict(delay=0.7, random=(0.3, 1.1), started=b"got 1\n", finished=b"got 30\n")),
    "tree_zombie": dict(argv=["{bin}/tree_zombie"]),
    "tree_stopped": dict(argv=["{bin}/tree_stopped"]),
    "scope_pgid": dict(
        argv=["{bin}/scope_pgid"], scope="pgid",
        variants={"restart": ([], "restart", [(b"pgid orig,", b"pgid other,")]),
                  "restore_pgid": (["--restore-pgid"], "orig", [])}),
    "scope_sid": dict(
        argv=["{bin}/scope_sid"], scope="sid",
        variants={"restore_sid": (["--restore-sid", "--restore-pgid"], "orig", [])}),
    "tree_shared_offset": dict(argv=["{bin}/tree_shared_offset"]),
    "tree_python_multiprocessing": dict(
        argv=["python3", "-u", "{src}/tree_python_multiprocessing.py"], expect=b"done"),
    "tree_busy_pid": dict(argv=["{bin}/tree_busy_pid"]),
}

MODES = ("plain", "restart", "restore_pgid", "restore_sid", "continue", "repeat", "random",
         "busy_all", "busy_child")


# ---- /proc ----------------------------------------------------------------


def proc_io(pid):
    try:
        with open("/proc/%d/io" % pid) as f:
            return f.read()
    except OSError:
        return None


def fd_table(pid):
    """{fd: readlink target} of pid ({} if it is gone or a zombie)."""
    out = {}
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return out
    for name in names:
        try:
            out[int(name)] = os.readlink("/proc/%d/fd/%s" % (pid, name))
        except OSError:
            pass
    return out


def fd_kind(target):
    """("pipe"|"socket", inode) or ("path", target)."""
    for kind in ("pipe", "socket"):
        if target.startswith(kind + ":["):
            return kind, target[len(kind) + 2:-1]
    return "path", target


def compare_fds(before, after):
    """Problems between two {pid: {fd: target}} maps of the same processes:
    the same descriptors, the same files, and pipes/sockets shared the same way
    (one new object for each old one)."""
    problems = []
    mapping, reverse = {}, {}
    for pid in sorted(before):
        old, new = before[pid], after.get(pid, {})
        for fd in sorted(set(old) | set(new)):
            if fd not in new:
                problems.append("pid %d fd %d (%s) is missing" % (pid, fd, old[fd]))
                continue
            if fd not in old:
                problems.append("pid %d has an extra fd %d (%s)" % (pid, fd, new[fd]))
                continue
            ok, nk = fd_kind(old[fd]), fd_kind(new[fd])
            if ok[0] != nk[0] or (ok[0] == "path" and ok != nk):
                problems.append("pid %d fd %d is %s, was %s" % (pid, fd, new[fd], old[fd]))
            elif ok[0] != "path":
                if mapping.setdefault(ok, nk) != nk or reverse.setdefault(nk, ok) != ok:
                    problems.append("pid %d fd %d: %s is not shared as %s was" % (
                        pid, fd, new[fd], old[fd]))
    return problems


def traced(pid):
    st = proc_status(pid)
    return st is not None and st.get("TracerPid", "0") != "0"


# ---- runs -------------------------------------------------------------------


class Point:
    def __init__(self, n, pid, specs):
        self.n, self.pid = n, pid
        self.conds = []          # (pid, cond)
        self.quiet = False
        for spec in specs:
            if spec == "quiet":
                self.quiet = True
            else:
                p, _, c = spec.partition(":")
                self.conds.append((int(p), c))

    def __repr__(self):
        return "point %d (pid %d, %s%s)" % (self.n, self.pid, " ".join(
            "%d:%s" % pc for pc in self.conds), " quiet" if self.quiet else "")


class Run(RunDir):
    def __init__(self, root, name):
        super().__init__(root, name)
        self.top = None          # the process the runner started
        self.status_pid = None   # whose exit status is the job's
        self.bystanders = set()
        self.pending = None      # JOB line waiting for its CKPT
        self.points = 0
        self.timed_done = False
        self.t_start = None
        self.scope_id = None
        self.root_pid = None     # image root (eldest top-level process of the scope)
        self.crpids = []
        self.fds = {}            # pid -> {fd: target} at the last snapshot
        self.final = True        # compare output at the end


class Runner(BaseRunner):
    def __init__(self, args, case, root):
        super().__init__(args, root)
        self.case = case
        self.scope = case.get("scope", "tree")
        self.expect = case.get("expect", b"PASS")
        argv = []
        for a in case["argv"]:
            argv.append(a.replace("{bin}", os.path.abspath(args.bin)).replace(
                "{src}", os.path.abspath(args.src)))
        if not argv[0].startswith("/"):
            found = shutil.which(argv[0])
            if found is None:
                raise Skip("%s not found" % argv[0])
            argv[0] = found
        for a in argv:
            if a.startswith("/") and ("/programs/" in a) and not os.path.exists(a):
                raise TestFailure("%s does not exist (not built?)" % a)
        self.argv = argv

    # ---- processes ------------------------------------------------------------

    def report_failure(self):
        self.describe_leftovers()

    def describe_leftovers(self):
        """Logs where every process below the runner is (for failures)."""
        table = proc_table()
        for pid in descendants_of(self.me, table):
            s = table.get(pid)
            try:
                with open("/proc/%d/wchan" % pid) as f:
                    wchan = f.read().strip()
            except OSError:
                wchan = "?"
            fds = []
            try:
                for fd in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
                    try:
                        fds.append("%s->%s" % (fd, os.readlink("/proc/%d/fd/%s" % (pid, fd))))
                    except OSError:
                        pass
            except OSError:
                pass
            self.log("left: %s syscall %s wchan %s fds %s" % (
                s, proc_syscall(pid), wchan, " ".join(fds)))

    # ---- scope ----------------------------------------------------------------

    def scope_members(self, run, table):
        if self.scope == "tree":
            if run.scope_id not in table:
                return []
            return [run.scope_id] + descendants_of(run.scope_id, table)
        key = "pgrp" if self.scope == "pgid" else "sid"
        return sorted(p for p, s in table.items() if getattr(s, key) == run.scope_id)

    def fix_scope(self, run, point_pid):
        """Sets run.scope_id (at the first checkpoint point)."""
        if run.scope_id is not None:
            return
        if self.scope == "tree":
            run.scope_id = run.top
        else:
            st = read_stat(point_pid)
            if st is None:
                raise TestFailure("point process %d vanished" % point_pid)
            run.scope_id = st.pgrp if self.scope == "pgid" else st.sid
            mine = os.getpgrp() if self.scope == "pgid" else os.getsid(0)
            if run.scope_id == mine:
                raise TestFailure("the job's %s %d is the runner's own; refusing to "
                                  "checkpoint it" % (self.scope, run.scope_id))
        self.log("scope: --%s %d" % (self.scope, run.scope_id))

    def snapshot(self, run):
        """Members of the scope now, and the image's root."""
        table = proc_table()
        members = self.scope_members(run, table)
        if self.me in members:
            raise TestFailure("the runner itself is in the checkpoint scope")
        snap = {p: table[p] for p in members}
        tops = [s for s in snap.values() if s.ppid not in snap]
        if not tops:
            raise TestFailure("no process in the scope %s %d" % (self.scope, run.scope_id))
        root = min(tops, key=lambda s: (s.start, s.pid))
        run.root_pid = root.pid
        run.fds = {p: fd_table(p) for p, s in snap.items() if s.state != "Z"}
        self.log("scope members: %s; root %d" % (sorted(snap.values(), key=lambda s: s.pid),
                                                 root.pid))
        return snap

    # ---- settling -------------------------------------------------------------

    def settle(self, run, point, parents=None, what="the point"):
        """Waits until the point's conditions hold (twice, or three times in a
        row with unchanged I/O counters for quiet points)."""
        need = 3 if point.quiet else 2
        good = 0
        last_io = None
        while True:
            self.reap()
            problems = []
            table = proc_table()
            members = self.scope_members(run, table)
            # The waiting process.
            st = table.get(point.pid)
            status = proc_status(point.pid)
            if st is None or status is None:
                problems.append("point process %d is gone" % point.pid)
            else:
                sigs = int(status.get("SigCgt", "0"), 16) | int(status.get("SigBlk", "0"), 16)
                nr = proc_syscall(point.pid)
                if st.state != "S" or nr not in POINT_SYSCALLS:
                    problems.append("point process %d: state %s syscall %s" % (
                        point.pid, st.state, nr))
                # rt_sigtimedwait unblocks the signals it waits for meanwhile.
                if nr != NR_RT_SIGTIMEDWAIT and not sigs & (1 << (signal.SIGUSR2 - 1)):
                    problems.append("point process %d neither catches nor blocks SIGUSR2" %
                                    point.pid)
            for pid, cond in point.conds:
                s = table.get(pid)
                if s is None:
                    problems.append("%d:%s: gone" % (pid, cond))
                    continue
                if s.state != cond[0]:
                    problems.append("%d:%s: state %s" % (pid, cond, s.state))
                elif len(cond) > 1 and proc_syscall(pid) != int(cond[1:]):
                    problems.append("%d:%s: in syscall %s" % (pid, cond, proc_syscall(pid)))
            for pid in members:
                if traced(pid):
                    problems.append("%d is traced" % pid)
            if parents is not None:
                for pid, ppid in parents.items():
                    s = table.get(pid)
                    if s is None or s.ppid != ppid:
                        problems.append("%d: parent %s, expected %d" % (
                            pid, None if s is None else s.ppid, ppid))
            if point.quiet:
                io = {p: proc_io(p) for p in members}
                if io != last_io:
                    problems.append("I/O still going on")
                last_io = io
            if problems:
                good = 0
                self.check_deadline("waiting for %s: %s" % (what, "; ".join(problems)))
            else:
                good += 1
                if good >= need:
                    return
            time.sleep(0.03 if point.quiet else 0.01)

    def hold_stopped(self, snap):
        stopped = [p for p, s in snap.items() if s.state == "T"]
        if not stopped:
            return
        end = time.monotonic() + STOPPED_HOLD
        while time.monotonic() < end:
            for p in stopped:
                s = read_stat(p)
                if s is None or s.state != "T":
                    raise TestFailure("pid %d was stopped at the checkpoint but is %s "
                                      "after it" % (p, s))
            time.sleep(0.02)
        self.log("stopped process(es) %s still stopped after %.1f s" % (stopped, STOPPED_HOLD))

    # ---- tools --------------------------------------------------------------

    def checkpoint(self, run, kill):
        img = self.run_checkpoint(run.scope_id, kill, opts=["--" + self.scope])
        self.log("checkpointed --%s %d to %s (%d bytes)%s" % (
            self.scope, run.scope_id, img, os.path.getsize(img), " and killed" if kill else ""))
        return img

    def expect_killed(self, run, snap, holder):
        """After cr_checkpoint --kill: every member is gone; those the runner
        reaped (and cr_restart, holder, mirroring the root) died of SIGKILL;
        bystanders live on."""
        got = self.wait_gone(list(snap) + ([holder] if holder else []), "killed job")
        for pid, st in got.items():
            if pid in snap and snap[pid].state == "Z":
                continue
            if norm_status(st) != ("signal", signal.SIGKILL):
                raise TestFailure("%s should have died of SIGKILL after cr_checkpoint --kill, "
                                  "got %s" % (self.who(pid), describe_status(st)))
        for b in run.bystanders:
            s = read_stat(b)
            if s is None or s.state in "ZX":
                raise TestFailure("bystander %d (outside the scope) did not survive "
                                  "cr_checkpoint --kill: %s" % (b, s))
        if run.bystanders:
            self.log("bystanders %s survived the checkpoint" % sorted(run.bystanders))

    def restart(self, run, img, extra):
        crpid, err = self.start_restart(run, img, extra)
        run.crpids.append(crpid)
        return crpid, err

    def restart_failed(self, crpid, err):
        st = self.exited.get(crpid)
        return TestFailure("cr_restart %d ended (%s) before the job was back:\n%s" % (
            crpid, describe_status(st), (read_bytes(err) or b"").decode("utf-8", "replace")))

    def wait_restored(self, run, snap, crpid, err, ids):
        """Waits until every process of snap is back as it was (see the module
        docstring); ids: "orig" or "restart"."""
        good = 0
        while True:
            self.reap()
            if crpid in self.exited:
                raise self.restart_failed(crpid, err)
            table = proc_table()
            cr = table.get(crpid)
            problems = []
            for pid, old in snap.items():
                s = table.get(pid)
                if s is None:
                    problems.append("%d missing" % pid)
                    continue
                want_ppid = old.ppid if old.ppid in snap else crpid
                if s.ppid != want_ppid:
                    problems.append("%d: parent %d, expected %d" % (pid, s.ppid, want_ppid))
                if traced(pid):
                    problems.append("%d traced" % pid)
                if old.state in "ZT" and s.state != old.state:
                    problems.append("%d: state %s, was %s" % (pid, s.state, old.state))
                if old.state not in "ZT" and s.state in "ZTt":
                    problems.append("%d: state %s, was %s" % (pid, s.state, old.state))
                if s.state == "Z" or cr is None:
                    continue
                want = (old.pgrp, old.sid) if ids == "orig" else (cr.pgrp, cr.sid)
                if (s.pgrp, s.sid) != want:
                    problems.append("%d: pgrp %d sid %d, expected pgrp %d sid %d (%s)" % (
                        pid, s.pgrp, s.sid, want[0], want[1],
                        "original" if ids == "orig" else "cr_restart's"))
            if cr is not None:
                extra = set(descendants_of(crpid, table)) - set(snap)
                if extra:
                    problems.append("processes under cr_restart not in the image: %s" % [
                        table.get(p) for p in extra])
            if not problems:
                good += 1
                if good >= 2:
                    self.log("all %d processes restored under cr_restart %d" % (
                        len(snap), crpid))
                    return
            else:
                good = 0
                self.check_deadline("waiting for the restored job: %s" % "; ".join(problems))
            time.sleep(0.01)

    def release(self, point):
        os.kill(point.pid, signal.SIGUSR2)
        self.log("sent SIGUSR2 to pid %d" % point.pid)

    # ---- driving -------------------------------------------------------------

    def start(self, run):
        run.top = self.start_run(run, self.argv, "job")
        run.status_pid = run.top
        run.t_start = time.monotonic()

    def job_alive(self, run):
        return [p for p in self.descendants() if p not in run.bystanders]

    def drive(self, run, on_point, on_timed=None):
        """Handles control lines until the job has ended; returns the job's wait
        status (that of run.status_pid)."""
        timed = self.case.get("timed")
        while True:
            self.check_deadline("running %s" % run.name)
            line = run.next_control_line()
            if line is not None:
                self.log("%s: control line %r" % (run.name, line))
                words = line.split()
                if not words:
                    continue
                if words[0] == "BYSTANDER":
                    run.bystanders.add(int(words[1]))
                    self.roles[int(words[1])] = "bystander"
                elif words[0] == "JOB":
                    run.pending = (int(words[1]), words[2:])
                elif words[0] == "CKPT":
                    if run.pending is None:
                        raise TestFailure("CKPT line without a JOB line before it")
                    point = Point(int(words[1]), run.pending[0], run.pending[1])
                    run.pending = None
                    self.fix_scope(run, point.pid)
                    on_point(run, point, run.points)
                    run.points += 1
                else:
                    raise TestFailure("unknown control line %r" % line)
                continue
            if timed and not run.timed_done and on_timed is not None:
                delay = on_timed(run, None)
                if time.monotonic() - run.t_start >= delay:
                    run.timed_done = True
                    on_timed(run, True)
                    continue
            self.reap()
            if not self.job_alive(run):
                self.reap()
                if run.status_pid not in self.exited:
                    raise TestFailure("the job ended but the status of %s is unknown" %
                                      self.who(run.status_pid))
                st = self.exited.pop(run.status_pid)
                left = [l for l in run.unhandled_lines() if l.startswith("CKPT")]
                if left:
                    raise TestFailure("job ended (%s) with unhandled points %r" % (
                        describe_status(st), left))
                return st
            time.sleep(0.005)

    def run_plain(self, name="plain"):
        run = Run(self.root, name)

        def on_point(run, point, index):
            self.settle(run, point)
            if index == 0:
                self.snapshot(run)
                if run.root_pid != run.top:
                    run.status_pid = run.root_pid
            self.release(point)

        self.start(run)
        st = self.drive(run, on_point, self.timed_handler("plain"))
        return run, st

    def timed_handler(self, mode):
        timed = self.case.get("timed")
        if not timed:
            return None
        delay = timed["delay"]
        if mode == "random":
            delay = self.rng.uniform(*timed["random"])

        def on_timed(run, now):
            if now is None:
                return delay
            if mode == "plain":
                return None
            self.log("timed checkpoint after %.3f s" % delay)
            out = read_bytes(run.stdout) or b""
            if timed["started"] not in out:
                raise TestFailure("the job has not got far enough after %.3f s (stdout %r): "
                                  "the checkpoint would not be mid-work" % (delay, out[-200:]))
            run.scope_id = run.top if run.scope_id is None else run.scope_id
            self.restart_cycle(run, Point(0, run.top, []), timed=True)
            out = read_bytes(run.stdout) or b""
            if timed["finished"] in out:
                raise TestFailure("the job had finished its work at the checkpoint: "
                                  "not mid-work")
            return None
        return on_timed

    def restart_cycle(self, run, point, variant=None, timed=False):
        """Checkpoint --kill and restart once; leaves the point unreleased."""
        extra, ids, _ = variant or ([], "restart", [])
        if not timed:
            self.settle(run, point)
        snap = self.snapshot(run)
        holder = run.crpids[-1] if run.crpids else None
        img = self.checkpoint(run, kill=True)
        self.expect_killed(run, snap, holder)
        crpid, err = self.restart(run, img, extra)
        run.status_pid = crpid
        if timed:
            return
        self.wait_restored(run, snap, crpid, err, ids)
        problems = compare_fds(run.fds, {p: fd_table(p) for p in run.fds})
        if problems:
            raise TestFailure("restored descriptors differ from the checkpointed ones:\n  " +
                              "\n  ".join(problems))
        parents = {p: (s.ppid if s.ppid in snap else crpid) for p, s in snap.items()}
        self.settle(run, point, parents, "the restored job at the point")
        self.hold_stopped(snap)

    def run_mode(self, mode):
        self.need_tools()
        variants = self.case.get("variants", {})
        if mode in ("restore_pgid", "restore_sid") or (mode == "restart" and variants):
            if mode not in variants:
                raise TestFailure("mode %s is not defined for this case" % mode)
        variant = variants.get(mode, ([], "restart", []))
        if self.case.get("timed") and mode not in ("restart", "random"):
            raise TestFailure("timed cases support only plain, restart and random")
        if mode == "random" and not self.case.get("timed"):
            raise TestFailure("mode random is only for timed cases")
        run = Run(self.root, mode)
        self.subst = variant[2]

        def on_point(run, point, index):
            if index > 0:
                self.settle(run, point)
                self.release(point)
                return
            if mode in ("restart", "restore_pgid", "restore_sid"):
                self.restart_cycle(run, point, variant)
            elif mode == "repeat":
                for k in range(REPEAT_COUNT):
                    self.log("repeat cycle %d/%d" % (k + 1, REPEAT_COUNT))
                    self.restart_cycle(run, point, variant)
            elif mode == "continue":
                self.settle(run, point)
                snap = self.snapshot(run)
                self.checkpoint(run, kill=False)
                self.settle(run, point, {p: s.ppid for p, s in snap.items()},
                            "the job after the checkpoint")
                self.hold_stopped(snap)
                if run.root_pid != run.top:
                    run.status_pid = run.root_pid
            elif mode in ("busy_all", "busy_child"):
                self.busy(run, point, mode)
                if not run.final:
                    return
            else:
                raise TestFailure("unknown mode %s" % mode)
            self.release(point)

        self.start(run)
        st = self.drive(run, on_point, self.timed_handler(mode))
        if run.points == 0 and not (self.case.get("timed") and run.timed_done):
            raise TestFailure("the job reached no checkpoint point")
        return run, st

    def busy(self, run, point, mode):
        """cr_restart while the image's pids are taken: must fail with EBUSY,
        name a taken pid and leave nothing behind."""
        self.settle(run, point)
        snap = self.snapshot(run)
        img = self.checkpoint(run, kill=False)
        busy = set(snap)
        if mode == "busy_child":
            root = run.root_pid
            if root != run.top:
                raise TestFailure("busy_child needs the job's top process as the root")
            os.kill(root, signal.SIGKILL)
            st = self.wait_pid(root, timeout=20)
            self.log("killed the root %d: %s" % (root, describe_status(st)))
            busy.discard(root)
            orphans = [p for p, s in snap.items() if s.ppid == root]
            end = time.monotonic() + 10
            while True:
                self.reap()
                stats = [read_stat(p) for p in orphans]
                if all(s is not None and s.ppid == self.me for s in stats):
                    break
                if time.monotonic() > end:
                    raise TestFailure("children of the killed root were not re-parented "
                                      "to the runner: %s" % stats)
                time.sleep(0.01)
            run.final = False
        before = set(self.descendants())
        exited_before = set(self.exited)
        out_size = os.path.getsize(run.stdout)
        crpid, err = self.restart(run, img, [])
        seen = set()
        while crpid not in self.exited:
            self.reap()
            table = proc_table()
            for p in descendants_of(crpid, table):
                if p not in seen:
                    seen.add(p)
                    self.log("under cr_restart: %s" % table.get(p))
            self.check_deadline("waiting for cr_restart to fail")
            time.sleep(0.002)
        st = self.exited.pop(crpid)
        text = (read_bytes(err) or b"").decode("utf-8", "replace")
        self.log("cr_restart: %s, stderr:\n%s" % (describe_status(st), text.rstrip()))
        problems = []
        if norm_status(st) != ("exit", EBUSY):
            problems.append("cr_restart should exit %d (EBUSY), got %s" % (
                EBUSY, describe_status(st)))
        named = {int(n) for n in re.findall(r"\b\d+\b", text)} & busy
        if "pid" not in text.lower() or not named:
            problems.append("cr_restart's message does not name a taken pid (one of %s)" %
                            sorted(busy))
        # Whatever cr_restart left behind was re-parented to the runner.
        time.sleep(0.1)
        table = proc_table()
        after = set(descendants_of(self.me, table))
        stray = after - before
        stray_reaped = {p: s for p, s in self.exited.items() if p not in exited_before}
        if stray or stray_reaped:
            problems.append("processes left behind by the failed cr_restart: %s %s" % (
                [table.get(p) for p in stray],
                {p: describe_status(s) for p, s in stray_reaped.items()}))
        for p in busy:
            s = table.get(p)
            if s is None or s.state != snap[p].state:
                problems.append("original process %d changed: was %s, now %s" % (
                    p, snap[p], s))
        if os.path.getsize(run.stdout) != out_size:
            problems.append("the job's stdout grew during the failed restart")
        if problems:
            raise TestFailure("\n".join(problems))
        self.log("cr_restart failed as expected; the original job is untouched")
        if mode == "busy_child":
            self.log("ending the orphaned children %s" % sorted(busy))
            for p in busy:
                os.kill(p, signal.SIGKILL)
            self.wait_gone(busy, "orphaned children")
            run.status_pid = run.top
            self.exited[run.top] = 0     # nothing to compare: the job was cut short
        else:
            self.settle(run, point, {p: s.ppid for p, s in snap.items()},
                        "the original job after the failed restart")


def main():
    ap = arg_parser(__doc__)
    ap.add_argument("--bin", required=True, help="directory of the built job programs")
    ap.add_argument("--src", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "programs"),
                    help="directory of the script programs")
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    add_run_args(ap, MODES, timeout=40.0)
    args = parse_args(ap)

    def body(runner):
        ref, ref_st = runner.run_plain()
        ref_out = runner.check_reference(ref, ref_st, runner.expect, repr(runner.expect))
        if ref.points == 0 and not runner.case.get("timed"):
            raise TestFailure("plain run reached no checkpoint point")
        for b in ref.bystanders:
            if read_stat(b) is None:
                raise TestFailure("bystander %d of the plain run is gone" % b)
        for b in list(ref.bystanders):
            os.kill(b, signal.SIGKILL)
        runner.wait_gone(ref.bystanders, "plain run's bystanders")
        if args.mode == "plain":
            return

        mode_run, st = runner.run_mode(args.mode)
        if not mode_run.final:
            return
        expected = ref_out
        for old, new in runner.subst:
            expected = expected.replace(old, new)
        if runner.subst and expected == ref_out:
            raise TestFailure("substitutions %r do not apply to the plain output" %
                              runner.subst)
        problems = compare(args.mode, expected, ref_st, mode_run.stdout, st)
        if problems:
            dump_file("plain stdout", ref.stdout)
            dump_file("%s stdout" % args.mode, mode_run.stdout)
            dump_file("%s stderr" % args.mode, mode_run.stderr)
            raise TestFailure("\n".join(problems))

    def dump_runs(root):
        for name in ("plain",) if args.mode == "plain" else ("plain", args.mode):
            for f in ("stderr", "control"):
                p = os.path.join(root, name, f)
                if os.path.exists(p):
                    dump_file("%s %s" % (name, f), p, 2000)

    return run_test(args, "jobs", args.case,
                    lambda root: Runner(args, CASES[args.case], root), body, dump_runs)


if __name__ == "__main__":
    sys.exit(main())
