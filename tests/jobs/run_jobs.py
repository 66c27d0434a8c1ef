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
  busy_group   as busy_all with the case's busy_extra cr_restart options
               (--restore-pgid --no-restore-pid): the group is taken, so it must
               fail with exit 16 naming the process group
  refused      custom cases (tree_other_user): see run_other_user
Cases with "custom" (make_build, tree_other_user) are driven by their own
methods: see run_make_build and run_other_user.

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
BUSY_GROUP_WAIT = 8     # seconds cr_restart gets to fail in mode busy_group

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
    # The scope_pgid ring, checkpointed without --kill; cr_restart --restore-pgid
    # --no-restore-pid while the group still exists must fail (mode busy_group).
    "scope_pgid_busy": dict(
        argv=["{bin}/scope_pgid"], scope="pgid",
        busy_extra=["--restore-pgid", "--no-restore-pid"]),
    # make -j2 of a generated project with a slow compiler wrapper, checkpointed
    # (--tree --kill) mid-build and restarted: see run_make_build.
    "make_build": dict(argv=["make"], custom="make"),
    # A session of uid 65534 with a root member: cr_checkpoint --sid as uid
    # 65534 must fail naming the root member and leave everything running.
    "tree_other_user": dict(argv=["setpriv"], custom="other_user"),
}

MODES = ("plain", "restart", "restore_pgid", "restore_sid", "continue", "repeat", "random",
         "busy_all", "busy_child", "busy_group", "refused")


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
            elif mode in ("busy_all", "busy_child", "busy_group"):
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
        extra = self.case.get("busy_extra", []) if mode == "busy_group" else []
        crpid, err = self.restart(run, img, extra)
        t_cr = time.monotonic()
        seen = set()
        while crpid not in self.exited:
            self.reap()
            table = proc_table()
            for p in descendants_of(crpid, table):
                if p not in seen:
                    seen.add(p)
                    self.log("under cr_restart: %s" % table.get(p))
            if mode == "busy_group" and time.monotonic() - t_cr > BUSY_GROUP_WAIT:
                under = [table.get(p) for p in descendants_of(crpid, table)]
                raise TestFailure(
                    "cr_restart %s did not fail within %d s while the process group %d "
                    "exists; under it: %s (untraced, in the original group: %s)\n%s" % (
                        " ".join(extra), BUSY_GROUP_WAIT, run.scope_id, under,
                        [s.pid for s in under if s is not None and s.pgrp == run.scope_id
                         and not traced(s.pid)],
                        (read_bytes(err) or b"").decode("utf-8", "replace")))
            self.check_deadline("waiting for cr_restart to fail")
            time.sleep(0.002)
        st = self.exited.pop(crpid)
        text = (read_bytes(err) or b"").decode("utf-8", "replace")
        self.log("cr_restart: %s, stderr:\n%s" % (describe_status(st), text.rstrip()))
        problems = []
        if norm_status(st) != ("exit", EBUSY):
            problems.append("cr_restart should exit %d (EBUSY), got %s" % (
                EBUSY, describe_status(st)))
        numbers = {int(n) for n in re.findall(r"\b\d+\b", text)}
        if mode == "busy_group":
            if not re.search(r"group|pgid|pgrp", text, re.I) or run.scope_id not in numbers:
                problems.append("cr_restart's message does not name the process group %d" %
                                run.scope_id)
        elif "pid" not in text.lower() or not numbers & busy:
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

    # ---- make_build -------------------------------------------------------------

    MAKE_PARTS = 6
    MAKE_COMPILERS = ("slowcc", "sleep", "gcc", "cc1", "as", "collect2", "ld")

    def write_make_project(self, d, gcc):
        """A make project in d: main.c and MAKE_PARTS part*.c, compiled by ./slowcc
        (sleeps 0.3 s, then runs gcc)."""
        n = self.MAKE_PARTS
        for i in range(1, n + 1):
            with open(os.path.join(d, "part%d.c" % i), "w") as f:
                f.write("int part%d(int x) { return x * %d + %d; }\n" % (i, i + 1, i * i))
        with open(os.path.join(d, "main.c"), "w") as f:
            f.write("#include <stdio.h>\n")
            for i in range(1, n + 1):
                f.write("int part%d(int);\n" % i)
            f.write("int main(void) {\n    int sum = 0, v;\n")
            for i in range(1, n + 1):
                f.write('    v = part%d(%d); sum += v; printf("part%d(%d) = %%d\\n", v);\n' % (
                    i, 10 * i, i, 10 * i))
            f.write('    printf("sum %d\\n", sum);\n    return 0;\n}\n')
        cc = os.path.join(d, "slowcc")
        with open(cc, "w") as f:
            f.write('#!/bin/sh\nsleep 0.3\nexec %s "$@"\n' % gcc)
        os.chmod(cc, 0o755)
        objs = " ".join(["main.o"] + ["part%d.o" % i for i in range(1, n + 1)])
        with open(os.path.join(d, "Makefile"), "w") as f:
            f.write("CC = ./slowcc\nOBJS = %s\n\nprog: $(OBJS)\n\t$(CC) -o prog $(OBJS)\n\n"
                    "%%.o: %%.c\n\t$(CC) -O1 -c $< -o $@\n" % objs)
        return ["main.o"] + ["part%d.o" % i for i in range(1, n + 1)]

    def make_env(self):
        env = dict(os.environ)
        for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES", "MAKE_TERMOUT",
                  "MAKE_TERMERR", "GNUMAKEFLAGS", "CC", "CFLAGS"):
            env.pop(k, None)
        env["LC_ALL"] = "C"
        return env

    def run_program(self, run, name):
        """Runs the built run.dir/prog; returns its stdout."""
        base = os.path.join(run.dir, "prog-run")
        pid = self.spawn([os.path.join(run.dir, "prog")], run.dir, base + ".out",
                         base + ".err", role="prog")
        st = self.wait_pid(pid, timeout=20)
        out = read_bytes(base + ".out") or b""
        if norm_status(st) != ("exit", 0) or b"sum " not in out:
            dump_file("%s prog stderr" % name, base + ".err")
            raise TestFailure("the program built by the %s run: %s, stdout %r" % (
                name, describe_status(st), out))
        return out

    def make_run(self, name, checkpoint):
        """One make -j2 build in <root>/<name>; with checkpoint, checkpointed with
        --tree --kill mid-build and restarted. Returns (run, status)."""
        gcc = shutil.which("gcc")
        if gcc is None:
            raise Skip("gcc not found")
        run = Run(self.root, name)
        objs = self.write_make_project(run.dir, gcc)
        run.top = self.spawn([self.argv[0], "-j2"], run.dir, run.stdout, run.stderr,
                             self.make_env(), role="make")
        run.status_pid = run.top
        done = False
        while True:
            self.check_deadline("running make (%s)" % name)
            self.reap()
            if run.status_pid in self.exited:
                break
            if checkpoint and not done:
                table = proc_table()
                below = [table[p] for p in descendants_of(run.top, table) if p in table]
                compiling = [s for s in below if s.comm in self.MAKE_COMPILERS]
                built = [o for o in objs if os.path.exists(os.path.join(run.dir, o))]
                if len(built) >= 2 and compiling:
                    done = True
                    self.make_checkpoint(run, objs, table)
            time.sleep(0.005)
        st = self.exited.pop(run.status_pid)
        if checkpoint and not done:
            raise TestFailure("make finished before a checkpoint mid-build was possible")
        self.wait_gone(self.descendants(), "processes left after make")
        return run, st

    def make_checkpoint(self, run, objs, table):
        snap = {p: table[p] for p in [run.top] + descendants_of(run.top, table) if p in table}
        self.log("make tree at the checkpoint: %s" % sorted(snap.values(), key=lambda s: s.pid))
        run.scope_id = run.top
        img = self.run_checkpoint(run.top, kill=True, opts=["--tree"])
        self.log("checkpointed --tree %d to %s (%d bytes) and killed" % (
            run.top, img, os.path.getsize(img)))
        got = self.wait_gone(list(snap), "killed make tree")
        for pid, st in got.items():
            if norm_status(st) != ("signal", signal.SIGKILL):
                raise TestFailure("%s should have died of SIGKILL after cr_checkpoint --kill, "
                                  "got %s" % (self.who(pid), describe_status(st)))
        built = [o for o in objs if os.path.exists(os.path.join(run.dir, o))]
        if os.path.exists(os.path.join(run.dir, "prog")) or len(built) == len(objs):
            raise TestFailure("the build was complete at the checkpoint (objects %s): "
                              "not mid-build" % built)
        self.log("mid-build: %d of %d objects built at the checkpoint" % (len(built), len(objs)))
        crpid, err = self.restart(run, img, [])
        run.status_pid = crpid
        # make must come back under cr_restart with its pid.
        while True:
            self.reap()
            if crpid in self.exited:
                raise self.restart_failed(crpid, err)
            s = read_stat(run.top)
            if s is not None and s.ppid == crpid and s.state not in "ZTt" \
                    and not traced(run.top):
                break
            self.check_deadline("waiting for make %d to be back under cr_restart %d" % (
                run.top, crpid))
            time.sleep(0.002)
        self.log("make %d is back under cr_restart %d" % (run.top, crpid))

    def run_make_build(self, mode):
        ref, ref_st = self.make_run("plain", checkpoint=False)
        ref_out = self.check_reference(ref, ref_st, b"./slowcc -o prog " + b" ".join(
            o.encode() for o in ["main.o"] + ["part%d.o" % i for i in range(1, 7)]),
            "link")
        ref_prog = self.run_program(ref, "plain")
        self.log("plain build: %d lines; program prints %r" % (
            ref_out.count(b"\n"), ref_prog))
        if mode == "plain":
            return
        if mode != "restart":
            raise TestFailure("make_build supports only plain and restart")
        self.need_tools()
        run, st = self.make_run(mode, checkpoint=True)
        got = read_bytes(run.stdout) or b""
        problems = []
        if norm_status(st) != ("exit", 0):
            problems.append("make under cr_restart: %s, expected exit 0" % describe_status(st))
        if got != ref_out:
            # Under -j2 the compile lines may come in another order.
            if sorted(got.split(b"\n")) == sorted(ref_out.split(b"\n")):
                self.log("make's stdout has the plain run's lines in another order")
            else:
                problems.append("make's stdout differs from the plain run's (as sorted lines)")
        if not problems:
            prog = self.run_program(run, mode)
            if prog != ref_prog:
                problems.append("the program prints %r, the plain build's %r" % (prog, ref_prog))
        if problems:
            dump_file("plain stdout", ref.stdout)
            dump_file("%s stdout" % mode, run.stdout)
            dump_file("%s stderr" % mode, run.stderr)
            raise TestFailure("\n".join(problems))

    # ---- tree_other_user ----------------------------------------------------------

    NOBODY = 65534
    TICKER = (
        "import sys, time\n"
        "i = 0\n"
        "with open(sys.argv[2], 'a') as f:\n"
        "    while True:\n"
        "        f.write('%s %d\\n' % (sys.argv[1], i)); f.flush()\n"
        "        i += 1\n"
        "        time.sleep(0.02)\n")

    def as_nobody(self, argv):
        u = str(self.NOBODY)
        return [self.argv[0], "--reuid=" + u, "--regid=" + u, "--clear-groups", "--"] + argv

    @staticmethod
    def nobody_can_run(path):
        """Others may execute path and enter every directory above it."""
        path = os.path.realpath(path)
        if os.stat(path).st_mode & 0o005 != 0o005:
            return False
        d = os.path.dirname(path)
        while True:
            if not os.stat(d).st_mode & 0o001:
                return False
            if d == "/":
                return True
            d = os.path.dirname(d)

    def reachable_by_nobody(self, path):
        """path, or a copy in <root>/bin when uid 65534 cannot reach it."""
        path = os.path.abspath(path)
        if self.nobody_can_run(path):
            return path
        bindir = os.path.join(self.root, "bin")
        os.makedirs(bindir, exist_ok=True)
        os.chmod(bindir, 0o755)
        copy = os.path.join(bindir, os.path.basename(path))
        shutil.copy2(path, copy)
        os.chmod(copy, 0o755)
        self.log("uid %d cannot reach %s: using a copy %s" % (self.NOBODY, path, copy))
        return copy

    @staticmethod
    def uid_of(pid):
        st = proc_status(pid)
        return None if st is None else int(st["Uid"].split()[0])

    def sizes(self, files):
        return {k: (os.path.getsize(f) if os.path.exists(f) else 0) for k, f in files.items()}

    def check_members(self, members, sid, files, what):
        """Every member runs (not stopped, not traced, same session) and its output
        advances."""
        before = self.sizes(files)
        end = time.monotonic() + 0.6
        while time.monotonic() < end:
            for name, pid in members.items():
                s = read_stat(pid)
                if s is None or s.state in "TtZX" or s.sid != sid:
                    raise TestFailure("%s member %s (pid %d) is not running %s: %s" % (
                        what, name, pid, "in its session" if s else "", s))
                if traced(pid):
                    raise TestFailure("%s member %s (pid %d) is traced (TracerPid %s)" % (
                        what, name, pid, proc_status(pid).get("TracerPid")))
            time.sleep(0.05)
        after = self.sizes(files)
        stuck = [k for k in files if after[k] <= before[k]]
        if stuck:
            raise TestFailure("%s: the output of %s does not advance (%s -> %s)" % (
                what, stuck, before, after))

    def run_other_user(self, mode):
        if mode != "refused":
            raise TestFailure("tree_other_user supports only mode refused")
        if os.geteuid() != 0:
            raise Skip("needs root (to start processes of two users)")
        setsid = shutil.which("setsid")
        if setsid is None:
            raise Skip("setsid not found")
        # The members' interpreter must be usable by uid 65534 (not a python
        # under /root, say).
        python = next((p for p in ("/usr/bin/python3", "/bin/python3")
                       if os.path.exists(p) and self.nobody_can_run(p)), None)
        if python is None:
            raise Skip("no python3 usable by uid %d" % self.NOBODY)
        self.need_tools()
        os.chmod(self.root, 0o711)
        d = os.path.dirname(os.path.realpath(self.root))
        while True:
            if not os.stat(d).st_mode & 0o001:
                raise TestFailure("uid %d cannot enter %s (above the scratch directory); "
                                  "use --work" % (self.NOBODY, d))
            if d == "/":
                break
            d = os.path.dirname(d)
        share = os.path.join(self.root, "share")
        os.mkdir(share)
        os.chmod(share, 0o777)
        imgdir = os.path.join(self.root, "img")
        os.mkdir(imgdir)
        os.chmod(imgdir, 0o777)
        ticker = os.path.join(share, "ticker.py")
        with open(ticker, "w") as f:
            f.write(self.TICKER)
        os.chmod(ticker, 0o644)
        ckpt = self.reachable_by_nobody(self.cr_checkpoint)
        files = {n: os.path.join(share, n + ".out") for n in ("leader", "member", "root")}
        # A root sh becomes the session leader (setsid), starts the root member,
        # then drops to uid 65534 (setpriv) and starts the 65534 member before it
        # becomes the leader's ticker itself.
        inner = "%s %s member %s & exec %s %s leader %s" % (
            python, ticker, files["member"], python, ticker, files["leader"])
        script = "%s %s root %s & exec %s" % (
            python, ticker, files["root"],
            " ".join("'%s'" % a for a in self.as_nobody(["/bin/sh", "-c", inner])))
        run = Run(self.root, "job")
        run.top = self.spawn([setsid, "/bin/sh", "-c", script], run.dir, run.stdout,
                             run.stderr, role="session leader")
        sid = run.top
        members = None
        while members is None:
            self.reap()
            if run.top in self.exited:
                dump_file("job stderr", run.stderr)
                raise TestFailure("the session leader ended: %s" % describe_status(
                    self.exited[run.top]))
            table = proc_table()
            sess = {p: s for p, s in table.items() if s.sid == sid}
            py = {p: s for p, s in sess.items() if s.comm.startswith("python")}
            if len(sess) == 3 and len(py) == 3 and run.top in py:
                uids = {p: self.uid_of(p) for p in py}
                root = [p for p in py if uids[p] == 0]
                nob = [p for p in py if uids[p] == self.NOBODY and p != run.top]
                if uids[run.top] == self.NOBODY and len(root) == 1 and len(nob) == 1 \
                        and all(table[p].ppid == run.top for p in root + nob) \
                        and all(os.path.exists(f) for f in files.values()):
                    members = {"leader": run.top, "member": nob[0], "root": root[0]}
            self.check_deadline("waiting for the session %d to be set up: %s" % (
                sid, sorted(sess.values(), key=lambda s: s.pid)))
            time.sleep(0.01)
        for name, pid in members.items():
            self.roles[pid] = "%s (uid %d)" % (name, self.uid_of(pid))
        self.log("session %d: leader %d (uid %d), member %d (uid %d), root member %d" % (
            sid, members["leader"], self.NOBODY, members["member"], self.NOBODY,
            members["root"]))
        self.check_members(members, sid, files, "before the checkpoint:")
        # uid 65534 must see every member in /proc.
        base = self.tag("proc-as-nobody")
        pid = self.spawn(self.as_nobody(["/bin/cat"] + ["/proc/%d/stat" % p for p in
                                                         members.values()]),
                         imgdir, base + ".out", base + ".err", role="cat as nobody")
        st = self.wait_pid(pid, timeout=20)
        if norm_status(st) != ("exit", 0):
            raise TestFailure("uid %d cannot read the members' /proc/PID/stat: %s\n%s" % (
                self.NOBODY, describe_status(st), (read_bytes(base + ".err") or b"").decode()))
        img = os.path.join(imgdir, "session.img")
        base = self.tag("ckpt-as-nobody")
        pid = self.spawn(self.as_nobody([ckpt, "--sid", str(sid), "-f", img]), imgdir,
                         base + ".out", base + ".err", role="cr_checkpoint as uid 65534")
        st = self.wait_pid(pid, timeout=30)
        text = (read_bytes(base + ".err") or b"").decode("utf-8", "replace")
        self.log("cr_checkpoint --sid %d as uid %d: %s, stderr:\n%s" % (
            sid, self.NOBODY, describe_status(st), text.rstrip()))
        problems = []
        if not os.WIFEXITED(st) or os.WEXITSTATUS(st) == 0:
            problems.append("cr_checkpoint as uid %d should fail with a non-zero exit, got %s"
                            % (self.NOBODY, describe_status(st)))
        if members["root"] not in {int(n) for n in re.findall(r"\b\d+\b", text)}:
            problems.append("cr_checkpoint's message does not name the root member %d" %
                            members["root"])
        left = os.listdir(imgdir)
        if left:
            problems.append("files left in the image directory: %s" % left)
        try:
            self.check_members(members, sid, files, "after the failed checkpoint:")
        except TestFailure as e:
            problems.append(str(e))
        if problems:
            raise TestFailure("\n".join(problems))
        self.log("cr_checkpoint refused; every member runs on")
        for pid in members.values():
            os.kill(pid, signal.SIGKILL)
        self.wait_gone(list(members.values()), "session members")


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
        custom = runner.case.get("custom")
        if custom == "make":
            return runner.run_make_build(args.mode)
        if custom == "other_user":
            return runner.run_other_user(args.mode)
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
        for name in ("plain",) if args.mode == "plain" else ("plain", args.mode, "job"):
            for f in ("stderr", "control"):
                p = os.path.join(root, name, f)
                if os.path.exists(p):
                    dump_file("%s %s" % (name, f), p, 2000)

    return run_test(args, "jobs", args.case,
                    lambda root: Runner(args, CASES[args.case], root), body, dump_runs)


if __name__ == "__main__":
    sys.exit(main())
