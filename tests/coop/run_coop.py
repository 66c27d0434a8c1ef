#!/usr/bin/env python3
"""Runs one libcr cooperation test (docs/libcr.md; tests/coop/CMakeLists.txt).

The cooperating programs load programs/fakecr.cc (libcr.so.coop), which answers the
dumper and restorer as libcr does and appends what it saw to $FAKECR_LOG:

    hello PID lib=0 req=R target=T scope=S signal=G dest=D
    forward PID err=E
    result PID value=V src=PATH
    done PID
    usr1 PID after_done=0|1

Cases (--case):
  busy            two cr_checkpoint of one process at once: the second exits 16 naming
                  the pid, the first succeeds; the process runs on to its normal end
  busy_restart    a cr_checkpoint of a process whose restart callbacks still run exits 16
  temp            TEMP_FAILURE: exit 50 (and a user code: code & 0xff), process runs on
                  and saw -CR_ETEMPFAIL, no image (nor temporary file) is left
  perm            PERM_FAILURE in a tree: exit 51, every process of the tree killed (one
                  without libcr too); PERM_FAILURE_CODE(300): exit 300 & 0xff
  pgid            --pgid: two cooperating processes of a group (Request scope 1), --kill,
                  both restart
  omit_alone      OMIT and nothing else: exit 3 (ESRCH), process runs on, saw -CR_EOMITTED
  omit_tree       the child omits itself: the parent is checkpointed (--kill) and
                  restarts without it while the child runs on with its pid
  dump_failure    the image cannot be written (/dev/full): exit 28, the process saw
                  -ENOSPC and runs on (no --kill after a failure)
  mixed_tree      a cooperating parent and a child without libcr: --kill, restart -S;
                  the parent gets Result/Done then the signal, the child is plain
  exit_in_callback a process exits in its callbacks: dropped (its parent is checkpointed;
                  alone: exit 3)
  never_ready     no Ready: cr_checkpoint -t 2 gives up (exit 110), process runs on
  out_fd          a process holding the image's own open file (self-checkpoint with -F):
                  that descriptor is left out (closed after the restart), others restored
  roundtrip       --kill, then cr_restart -S SIGUSR1: the restarted process sees
                  Result == cr_restart's pid with the image's path, answers Done before
                  the signal arrives; a request handle comes back holding CR_ERESTARTED
  continue_signal cr_checkpoint -S SIGUSR1 without --kill: Result 0, Done, then the signal
  early_stop      --early-stop: stopped right after the image, before Result; after
                  SIGCONT it sees Result 0 and runs on
  stopped         a stopped cooperating process runs its callbacks and is stopped again
  transparent     a program without libcr (but catching signal 64) is checkpointed
                  and restarted as before: no signal 64, output as an uninterrupted run
  forward         a callback forwards the checkpoint to another process: both in the image
  require_libcr   --require-libcr on a process without libcr: exit 52, runs on
  nobody          roundtrip as uid 65534 (--no-restore-pid)
  real_*          the same with the real libcr: a program with callbacks (signal and
                  thread context; roundtrip, temp, perm, omit, continue, nobody) and
                  programs under cr_run / cr_run --omit

Restarted programs are judged by their output and exit status against an uninterrupted
run (known in advance: the programs are deterministic). The runner is a child subreaper,
ends every process it started or inherited by pid, and removes its scratch directory.
Exit status: 0 pass, 1 fail, 77 skipped.
"""

import argparse
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NOBODY = 65534
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
CR_ETEMPFAIL, CR_EPERMFAIL, CR_EOMITTED, CR_ERESTARTED = 2354, 2355, 2358, 2363
MAGIC = "43524c43"


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def steps(n, first=0):
    return "".join(f"step {i}\n" for i in range(first, n))


def state_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return out


def reap(pid):
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


class Runner:
    def __init__(self, args):
        self.tools, self.bin = args.tools, args.bin
        self.cr_checkpoint = os.path.join(self.tools, "cr_checkpoint")
        self.cr_restart = os.path.join(self.tools, "cr_restart")
        self.dir = tempfile.mkdtemp(prefix="crest-coop-")
        os.chmod(self.dir, 0o777)
        self.log = self.path("fakecr.log")
        self.procs = []
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: leftovers come to us

    def path(self, name):
        return os.path.join(self.dir, name)

    def prog(self, name):
        return os.path.join(self.bin, name)

    def env(self, **extra):
        e = dict(os.environ)
        for k in list(e):
            if k.startswith(("FAKECR_", "REAL_", "CHILD_")) or k in ("COOP_HANDLE_FD", "PLAIN_RT_HANDLER", "IGNORE_USR1"):
                del e[k]
        e["FAKECR_LOG"] = self.log
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def start(self, argv, out=None, user=False, append=False, process_group=None, **env):
        argv = [str(a) for a in argv]
        if user:
            argv = SETPRIV + argv
        stdout = open(out, "ab" if append else "wb") if out else subprocess.DEVNULL
        self.nstarted = getattr(self, "nstarted", 0) + 1
        errpath = self.path(f"stderr.{self.nstarted}")
        stderr = open(errpath, "wb")
        if user:
            os.chown(errpath, NOBODY, NOBODY)  # a restarted process reopens it as that user
        extra = {} if process_group is None else {"process_group": process_group}
        p = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=self.env(**env), **extra)
        p.errpath = errpath
        stderr.close()
        if out:
            stdout.close()
        self.procs.append(p)
        return p

    def run(self, argv, timeout=30, user=False, **env):
        argv = [str(a) for a in argv]
        if user:
            argv = SETPRIV + argv
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             env=self.env(**env))
        self.procs.append(p)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise Failure(f"{argv} did not finish within {timeout} s")
        took = time.monotonic() - t0
        print(f"  $ {' '.join(argv)} -> {p.returncode} ({took:.1f} s){(': ' + err.decode().strip()) if err else ''}")
        return p.returncode, out.decode(), err.decode(), took

    def wait_for(self, what, cond, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.02)
        raise Failure(f"timed out waiting for {what}")

    def wait_lines(self, path, n, timeout=10):
        self.wait_for(f"{n} lines in {os.path.basename(path)}", lambda: read(path).count("\n") >= n, timeout)

    def wait_log(self, text, timeout=10):
        self.wait_for(f"'{text}' in the fakecr log", lambda: text in read(self.log), timeout)

    def wait_exit(self, p, timeout=30):
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"pid {p.pid} ({p.args}) did not exit within {timeout} s")

    def log_lines(self, kind, pid=None):
        out = []
        for line in read(self.log).splitlines():
            f = line.split()
            if len(f) >= 2 and f[0] == kind and (pid is None or f[1] == str(pid)):
                out.append(line)
        return out

    def result_of(self, pid):
        lines = self.log_lines("result", pid)
        check(lines, f"process {pid} never saw a Result; log:\n{read(self.log)}")
        return int(lines[-1].split()[2].split("=")[1])

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for _ in range(3):
            for pid in children_of(os.getpid()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            while True:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    time.sleep(0.05)
                    if not children_of(os.getpid()):
                        break
        for p in self.procs:
            try:
                p.wait(timeout=1)
            except Exception:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- cases --------------------------------------------------------------------

def case_busy(r):
    out = r.path("out")
    p = r.start([r.prog("coop_counter"), 60, 100], out=out, FAKECR_DELAY_MS=1500)
    r.wait_lines(out, 3)
    first = r.start([r.cr_checkpoint, "-f", r.path("img1"), p.pid])
    r.wait_log(f"hello {p.pid}")
    rc, _, err, _ = r.run([r.cr_checkpoint, "-f", r.path("img2"), p.pid])
    check(rc == 16, f"second cr_checkpoint: exit {rc}, expected 16 (EBUSY)")
    check(str(p.pid) in err and "another checkpoint" in err, f"message should name pid {p.pid}: {err!r}")
    check(not os.path.exists(r.path("img2")), "the refused checkpoint left an image")
    rc1 = r.wait_exit(first)
    check(rc1 == 0, f"first cr_checkpoint: exit {rc1}")
    check(os.path.getsize(r.path("img1")) > 0, "first checkpoint wrote no image")
    check(r.result_of(p.pid) == 0, "Result of the first checkpoint is not 0")
    rc, _, err, _ = r.run([r.cr_checkpoint, "-f", r.path("img3"), p.pid])
    check(rc == 0, f"a checkpoint after the first one ended: exit {rc} (lock not released?)")
    check(r.wait_exit(p) == 5, "the process did not end normally")
    check(read(out) == steps(60), "output differs from an uninterrupted run")


def case_busy_restart(r):
    out = r.path("out")
    p = r.start([r.prog("coop_counter"), 30, 100], out=out, FAKECR_RESTART_DELAY_MS=2000)
    r.wait_lines(out, 3)
    img = r.path("img")
    rc, _, err, _ = r.run([r.cr_checkpoint, "--kill", "-f", img, p.pid])
    check(rc == 0, f"cr_checkpoint exit {rc}")
    r.wait_exit(p, 5)
    open(r.log, "w").close()
    rs = r.start([r.cr_restart, img])
    r.wait_log(f"result {p.pid} value={rs.pid}", 10)
    # The restart is not over until the restarted process answered Done.
    rc, _, err, _ = r.run([r.cr_checkpoint, "-f", r.path("img2"), p.pid])
    check(rc == 16, f"cr_checkpoint during the restart's callbacks: exit {rc}, expected 16")
    check(str(p.pid) in err and "restart" in err, f"message should name pid {p.pid}: {err!r}")
    check(r.wait_exit(rs) == 5, f"cr_restart exit {rs.returncode}: {read(rs.errpath)}")
    check(read(out) == steps(30), "output differs from an uninterrupted run")


def case_temp(r):
    for decision, want in (("temp", 50), ("temp:300", 300 & 0xff)):
        out = r.path(f"out-{want}")
        p = r.start([r.prog("coop_counter"), 20, 100], out=out, FAKECR_DECISION=decision)
        r.wait_lines(out, 3)
        img = r.path(f"img-{want}")
        rc, _, err, _ = r.run([r.cr_checkpoint, "-f", img, p.pid])
        check(rc == want, f"{decision}: exit {rc}, expected {want}")
        check(not os.path.exists(img) and not any(n.startswith(".img") for n in os.listdir(r.dir)),
              f"{decision}: an image or temporary file was left: {os.listdir(r.dir)}")
        code = CR_ETEMPFAIL if decision == "temp" else 300
        check(r.result_of(p.pid) == -code, f"{decision}: process saw {r.result_of(p.pid)}, expected {-code}")
        r.wait_log(f"done {p.pid}", 5)  # Done is logged just after it is sent
        check(r.wait_exit(p) == 5, f"{decision}: the process did not run on to its end")
        check(read(out) == steps(20), f"{decision}: output differs from an uninterrupted run")


def case_perm(r):
    out = r.path("out")
    p = r.start([r.prog("coop_tree"), 50, 100], out=out, FAKECR_DECISION="perm")
    r.wait_lines(out, 3)
    child = children_of(p.pid)
    check(len(child) == 1, f"expected one child, found {child}")
    rc, _, err, _ = r.run([r.cr_checkpoint, "-f", r.path("img"), p.pid])
    check(rc == 51, f"exit {rc}, expected 51 (CR_EPERMFAIL)")
    check(r.wait_exit(p, 5) == -signal.SIGKILL, f"parent ended with {p.returncode}, expected SIGKILL")
    r.wait_for("the child to die", lambda: state_of(child[0]) in (None, "Z"), 5)
    check(not os.path.exists(r.path("img")), "an image was left")
    # A process without libcr in the job is killed too.
    out2 = r.path("out2")
    q = r.start([r.prog("coop_tree"), 50, 100], out=out2, FAKECR_DECISION="perm:300",
                CHILD_EXEC=r.prog("coop_counter_plain"), CHILD_OUT=r.path("child-out"))
    r.wait_lines(out2, 3)
    child = children_of(q.pid)
    check(len(child) == 1, f"expected one child, found {child}")
    rc, _, err, _ = r.run([r.cr_checkpoint, "-f", r.path("img2"), q.pid])
    check(rc == 300 & 0xff, f"PERM_FAILURE_CODE(300): exit {rc}, expected {300 & 0xff}")
    check(r.wait_exit(q, 5) == -signal.SIGKILL, "the cooperating parent was not killed")
    r.wait_for("the child without libcr to die", lambda: state_of(child[0]) in (None, "Z"), 5)


def case_pgid(r):
    outs = [r.path("out-a"), r.path("out-b")]
    a = r.start([r.prog("coop_counter"), 30, 100], out=outs[0], process_group=0)
    b = r.start([r.prog("coop_counter"), 30, 100], out=outs[1], process_group=a.pid)
    for o in outs:
        r.wait_lines(o, 4)
    check(os.getpgid(b.pid) == a.pid, "b is not in a's process group")
    img = r.path("img")
    rc, _, err, _ = r.run([r.cr_checkpoint, "--pgid", "--kill", "-f", img, a.pid])
    check(rc == 0, f"cr_checkpoint --pgid exit {rc}")
    for p in (a, b):
        hello = r.log_lines("hello", p.pid)
        check(hello and "scope=1" in hello[0] and f"target={a.pid}" in hello[0], f"Request seen by {p.pid}: {hello}")
        check(r.result_of(p.pid) == 0, f"{p.pid}: no Result 0")
        check(r.wait_exit(p, 5) == -signal.SIGKILL, f"{p.pid} not killed by --kill")
    rs = r.start([r.cr_restart, img])
    check(r.wait_exit(rs) == 5, f"cr_restart exit {rs.returncode}: {read(rs.errpath)}")
    r.wait_for("both outputs complete", lambda: all(read(o) == steps(30) for o in outs), 10)


def case_omit_alone(r):
    out = r.path("out")
    p = r.start([r.prog("coop_counter"), 20, 100], out=out, FAKECR_DECISION="omit")
    r.wait_lines(out, 3)
    rc, _, err, _ = r.run([r.cr_checkpoint, "--kill", "-f", r.path("img"), p.pid])
    check(rc == 3, f"exit {rc}, expected 3 (ESRCH: nothing checkpointed)")
    check(r.result_of(p.pid) == -CR_EOMITTED, f"process saw {r.result_of(p.pid)}, expected -CR_EOMITTED")
    check(r.wait_exit(p) == 5, "the omitted process did not run on (no signal must reach it)")
    check(read(out) == steps(20), "output differs from an uninterrupted run")
    check(not os.path.exists(r.path("img")), "an image was left")


def case_omit_tree(r):
    out = r.path("out")
    p = r.start([r.prog("coop_tree"), 30, 100], out=out, CHILD_DECISION="omit")
    r.wait_lines(out, 4)
    child = children_of(p.pid)
    check(len(child) == 1, f"expected one child, found {child}")
    img = r.path("img")
    rc, _, err, _ = r.run([r.cr_checkpoint, "--kill", "-f", img, p.pid])
    check(rc == 0, f"cr_checkpoint exit {rc}: {err}")
    check(r.wait_exit(p, 5) == -signal.SIGKILL, "the parent was not killed by --kill")
    check(r.result_of(child[0]) == -CR_EOMITTED, "the omitted child did not get -CR_EOMITTED")
    check(r.result_of(p.pid) == 0, "the parent did not get Result 0")
    check(state_of(child[0]) not in (None, "Z"), "the omitted child was killed or exited (it must run on)")
    rs = r.start([r.cr_restart, img])
    r.wait_for("the restored parent", lambda: state_of(p.pid) is not None, 10)
    check(r.wait_exit(rs) == 0, f"cr_restart exit {rs.returncode}")
    check(read(out) == "parent started a child\n" + steps(30), f"output differs: {read(out)!r}")
    check(state_of(child[0]) not in (None, "Z"), "the omitted child did not run on through the restart")


def case_dump_failure(r):
    out = r.path("out")
    p = r.start([r.prog("coop_counter"), 30, 100], out=out)
    r.wait_lines(out, 3)
    rc, _, err, _ = r.run([r.cr_checkpoint, "--kill", "-f", "/dev/full", p.pid])
    check(rc == 28, f"checkpoint to /dev/full: exit {rc}, expected 28 (ENOSPC)")
    check(r.result_of(p.pid) == -28, f"process saw {r.result_of(p.pid)}, expected -ENOSPC")
    check(r.wait_exit(p) == 5, "the process did not run on after the failed dump (no --kill after a failure)")
    check(read(out) == steps(30), "output differs from an uninterrupted run")


def case_mixed_tree(r):
    out, child_out = r.path("out"), r.path("child-out")
    p = r.start([r.prog("coop_tree"), 30, 100], out=out, CHILD_EXEC=r.prog("coop_counter_plain"), CHILD_OUT=child_out,
                FAKECR_USR1=1, IGNORE_USR1=1)
    r.wait_lines(out, 4)
    r.wait_lines(child_out, 3)
    child = children_of(p.pid)
    check(len(child) == 1, f"expected one child, found {child}")
    img = r.path("img")
    rc, _, err, _ = r.run([r.cr_checkpoint, "--kill", "-f", img, p.pid])
    check(rc == 0, f"cr_checkpoint exit {rc}")
    check(r.wait_exit(p, 5) == -signal.SIGKILL, "the cooperating parent was not killed")
    r.wait_for("the transparent child to die", lambda: state_of(child[0]) in (None, "Z"), 5)
    reap(child[0])  # re-parented to us (subreaper): its pid must be free for the restart
    check(r.result_of(p.pid) == 0 and not r.log_lines("hello", child[0]), "only the parent cooperates")
    open(r.log, "w").close()
    rs = r.start([r.cr_restart, "-S", int(signal.SIGUSR1), img])
    check(r.wait_exit(rs) == 0, f"cr_restart exit {rs.returncode}: {read(rs.errpath)}")
    r.wait_for("the child's output", lambda: read(child_out) == steps(30), 10)
    check(read(out) == "parent started a child\n" + steps(30), f"parent output differs: {read(out)[-60:]!r}")
    lines = read(r.log).splitlines()
    check(lines[:3] == [f"result {p.pid} value={rs.pid} src={img}", f"done {p.pid}", f"usr1 {p.pid} after_done=1"],
          f"restart order in the cooperating parent: {lines}")


def case_exit_in_callback(r):
    out = r.path("out")
    p = r.start([r.prog("coop_tree"), 40, 100], out=out, CHILD_DECISION="exit")
    r.wait_lines(out, 3)
    child = children_of(p.pid)
    check(len(child) == 1, f"expected one child, found {child}")
    img = r.path("img")
    rc, _, err, _ = r.run([r.cr_checkpoint, "-f", img, p.pid])
    check(rc == 0, f"cr_checkpoint exit {rc}: the parent must be checkpointed without the child that exited")
    check(r.result_of(p.pid) == 0, "the parent did not get Result 0")
    check(not r.log_lines("result", child[0]), "the child that exited got a Result")
    check(r.wait_exit(p) == 0 and read(out) == "parent started a child\n" + steps(40), "the parent did not run on")
    out2 = r.path("out2")
    q = r.start([r.prog("coop_counter"), 30, 100], out=out2, FAKECR_DECISION="exit")
    r.wait_lines(out2, 3)
    rc, _, err, _ = r.run([r.cr_checkpoint, "-f", r.path("img2"), q.pid])
    check(rc == 3, f"alone: exit {rc}, expected 3 (ESRCH: nothing left to checkpoint)")
    check(r.wait_exit(q, 5) == 7, f"the process ended with {q.returncode}, expected its own _exit(7)")


def case_never_ready(r):
    out = r.path("out")
    p = r.start([r.prog("coop_counter"), 50, 100], out=out, FAKECR_DECISION="never")
    r.wait_lines(out, 3)
    rc, _, err, took = r.run([r.cr_checkpoint, "-t", "2", "-f", r.path("img"), p.pid])
    check(rc == 110, f"exit {rc}, expected 110 (ETIMEDOUT)")
    check(took < 8, f"gave up only after {took:.1f} s")
    check(p.poll() is None, "the process did not run on")
    check(r.result_of(p.pid) == -110, f"process saw {r.result_of(p.pid)}, expected -ETIMEDOUT")
    check(not os.path.exists(r.path("img")), "an image was left")
    check(r.wait_exit(p) == 5, "the process did not end normally")
    check(read(out) == steps(50), "output differs from an uninterrupted run")


def case_out_fd(r):
    out, img, keep = r.path("out"), r.path("self.img"), r.path("keep")
    with open(keep, "w") as f:
        f.write("kept\n")
    p = r.start([r.prog("self_ckpt"), img, keep], out=out, append=True, CR_CHECKPOINT=r.cr_checkpoint)
    check(r.wait_exit(p) == 0, f"self_ckpt exit {p.returncode}")
    check(read(out) == "original: cr_checkpoint exit 0\nfd5 open fd6 open fd8 open\n", f"original run: {read(out)!r}")
    rs = r.start([r.cr_restart, img])
    check(r.wait_exit(rs) == 0, f"cr_restart exit {rs.returncode}")
    check(read(out).endswith("restarted: wait No child processes\nfd5 closed fd6 open fd8 closed\n"),
          f"restarted copy: {read(out)!r} (fd 5, the image's own file, and its dup fd 8 must be left out)")


def roundtrip(r, user):
    out = r.path("out")
    open(out, "w").close()
    if user:
        os.chown(out, NOBODY, NOBODY)  # the restarted process reopens its stdout as that user
    argv = [r.prog("coop_counter"), 30, 100]
    p = r.start(argv, out=out, user=user, COOP_HANDLE_FD=7, FAKECR_HANDLES=7, FAKECR_USR1=1)
    r.wait_lines(out, 4)
    img = r.path("img")
    rc, _, err, _ = r.run([r.cr_checkpoint, "--kill", "-f", img, p.pid], user=user)
    check(rc == 0, f"cr_checkpoint exit {rc}")
    check(r.wait_exit(p, 5) == -signal.SIGKILL, "not killed by --kill")
    check(r.result_of(p.pid) == 0, "no Result 0 at checkpoint time")
    r.wait_log(f"done {p.pid}", 5)
    hello = r.log_lines("hello", p.pid)
    check(hello and "scope=3" in hello[0] and f"target={p.pid}" in hello[0] and "signal=9" in hello[0] and
          f"dest={img}" in hello[0], f"Request as seen by the process: {hello}")
    open(r.log, "w").close()
    restart = [r.cr_restart, "-S", int(signal.SIGUSR1), img]
    if user:
        restart.insert(1, "--no-restore-pid")
    rs = r.start(restart, user=user)
    check(r.wait_exit(rs) == 5, f"cr_restart exit {rs.returncode}, expected the program's 5: {read(rs.errpath)}")
    pid = p.pid
    if user:
        results = r.log_lines("result")
        check(results, f"no Result after the restart: {read(r.log)}")
        pid = int(results[0].split()[1])
    lines = [l for l in read(r.log).splitlines() if l.split()[1] == str(pid)]
    check(lines[:3] == [f"result {pid} value={rs.pid} src={img}", f"done {pid}", f"usr1 {pid} after_done=1"],
          f"restart: expected Result(cr_restart's pid {rs.pid}, {img}), Done, then SIGUSR1; got {lines}")
    check(read(out) == steps(30) + f"handle magic={MAGIC} type=2 err={CR_ERESTARTED} log=0\n",
          f"restarted output: {read(out)!r}")


def case_roundtrip(r):
    roundtrip(r, False)


def case_nobody(r):
    for f in ("coop_counter", "libcr.so.coop"):
        path = r.prog(f)
        while path != "/":
            if not os.stat(path).st_mode & 0o001:
                raise SystemExit(77)
            path = os.path.dirname(path)
    roundtrip(r, True)


def case_continue_signal(r):
    out = r.path("out")
    p = r.start([r.prog("coop_counter"), 30, 100], out=out, FAKECR_USR1=1)
    r.wait_lines(out, 3)
    rc, _, err, _ = r.run([r.cr_checkpoint, "-S", int(signal.SIGUSR1), "-f", r.path("img"), p.pid])
    check(rc == 0, f"cr_checkpoint exit {rc}")
    r.wait_log(f"usr1 {p.pid}", 5)
    lines = [l for l in read(r.log).splitlines() if not l.startswith("hello")]
    check(lines == [f"result {p.pid} value=0 src=", f"done {p.pid}", f"usr1 {p.pid} after_done=1"],
          f"expected Result 0, Done, then SIGUSR1: {lines}")
    check(r.wait_exit(p) == 5, "the process did not run on")
    check(read(out) == steps(30), "output differs from an uninterrupted run")


def case_early_stop(r):
    out = r.path("out")
    p = r.start([r.prog("coop_counter"), 30, 100], out=out)
    r.wait_lines(out, 3)
    rc, _, err, took = r.run([r.cr_checkpoint, "--early-stop", "-f", r.path("img"), p.pid])
    check(rc == 0, f"cr_checkpoint --early-stop exit {rc}")
    check(took < 5, f"took {took:.1f} s: a process stopped early cannot answer Done, nothing must wait for it")
    r.wait_for("the early stop", lambda: state_of(p.pid) == "T", 3)
    time.sleep(0.3)
    check(state_of(p.pid) == "T" and not r.log_lines("result", p.pid), "it ran on before SIGCONT")
    hello = r.log_lines("hello", p.pid)
    check(hello and "signal=-19" in hello[0], f"the request's signal should be -SIGSTOP: {hello}")
    os.kill(p.pid, signal.SIGCONT)
    r.wait_log(f"done {p.pid}", 5)
    check(r.result_of(p.pid) == 0, "Result 0 not seen after SIGCONT")
    check(r.wait_exit(p) == 5 and read(out) == steps(30), "the process did not run on")


def case_stopped(r):
    out = r.path("out")
    p = r.start([r.prog("coop_counter"), 30, 100], out=out)
    r.wait_lines(out, 3)
    os.kill(p.pid, signal.SIGSTOP)
    r.wait_for("the stop", lambda: state_of(p.pid) == "T", 5)
    rc, _, err, _ = r.run([r.cr_checkpoint, "-f", r.path("img"), p.pid])
    check(rc == 0, f"cr_checkpoint exit {rc}")
    check(r.result_of(p.pid) == 0, "the stopped process did not run its callbacks")
    r.wait_log(f"done {p.pid}", 5)
    r.wait_for("the process stopped again", lambda: state_of(p.pid) == "T", 5)
    time.sleep(0.3)
    check(state_of(p.pid) == "T", "the process did not stay stopped")
    os.kill(p.pid, signal.SIGCONT)
    check(r.wait_exit(p) == 5, "the process did not end normally")
    check(read(out) == steps(30), "output differs from an uninterrupted run")


def case_transparent(r):
    out = r.path("out")
    p = r.start([r.prog("coop_counter_plain"), 30, 100], out=out, PLAIN_RT_HANDLER=1)
    r.wait_lines(out, 5)
    img = r.path("img")
    rc, _, err, _ = r.run([r.cr_checkpoint, "--kill", "-f", img, p.pid])
    check(rc == 0, f"cr_checkpoint exit {rc}")
    check(r.wait_exit(p, 5) == -signal.SIGKILL, "not killed by --kill")
    rs = r.start([r.cr_restart, img])
    check(r.wait_exit(rs) == 5, f"cr_restart exit {rs.returncode}")
    check(read(out) == steps(30), f"output differs from an uninterrupted run: {read(out)[-80:]!r}")
    check(read(r.log) == "", "the fake libcr log is not empty")


def case_forward(r):
    out_b = r.path("out-b")
    b = r.start([r.prog("coop_counter"), 30, 100], out=out_b)
    out_a = r.path("out-a")
    a = r.start([r.prog("coop_counter"), 30, 100], out=out_a, FAKECR_FORWARD=f"0:{b.pid}")
    r.wait_lines(out_a, 4)
    img = r.path("img")
    rc, _, err, _ = r.run([r.cr_checkpoint, "--pid", "--kill", "-f", img, a.pid])
    check(rc == 0, f"cr_checkpoint exit {rc}")
    check(r.log_lines("forward", a.pid) == [f"forward {a.pid} err=0"], f"forward: {read(r.log)}")
    check(r.result_of(b.pid) == 0, "the forwarded process did not take part")
    check(r.wait_exit(a, 5) == -signal.SIGKILL and r.wait_exit(b, 5) == -signal.SIGKILL, "not both killed")
    rs = r.start([r.cr_restart, img])
    r.wait_for("both restored", lambda: state_of(a.pid) and state_of(b.pid), 10)
    check(r.wait_exit(rs) == 5, f"cr_restart exit {rs.returncode}")
    r.wait_for("both outputs complete", lambda: read(out_a) == steps(30) and read(out_b) == steps(30), 10)


def case_require_libcr(r):
    out = r.path("out")
    p = r.start([r.prog("coop_counter_plain"), 20, 100], out=out)
    r.wait_lines(out, 3)
    rc, _, err, _ = r.run([r.cr_checkpoint, "--require-libcr", "-f", r.path("img"), p.pid])
    check(rc == 52, f"exit {rc}, expected 52 (CR_ENOSUPPORT)")
    check(not os.path.exists(r.path("img")), "an image was left")
    check(r.wait_exit(p) == 5 and read(out) == steps(20), "the process did not run on")


# ---- the real libcr (src/libcr) --------------------------------------------------

def real_lines(r, kind, pid):
    return [l for l in read(r.real_log).splitlines() if l.split()[:2] == [kind, str(pid)]]


def real_rc(r, pid):
    lines = real_lines(r, "checkpoint", pid)
    check(lines, f"process {pid}: cr_checkpoint() never returned; log:\n{read(r.real_log)}")
    return int(lines[-1].split()[2].split("=")[1])


def real_start(r, steps_n, out, user=False, **env):
    r.real_log = r.path("real.log")
    return r.start([r.prog("real_counter"), steps_n, 100], out=out, user=user, REAL_LOG=r.real_log, **env)


def real_roundtrip(r, user=False, **env):
    out = r.path("out")
    open(out, "w").close()
    if user:
        os.chown(out, NOBODY, NOBODY)
    p = real_start(r, 30, out, user=user, **env)
    r.wait_lines(out, 4)
    img = r.path("img")
    rc, _, err, _ = r.run([r.cr_checkpoint, "--kill", "-f", img, p.pid], user=user)
    check(rc == 0, f"cr_checkpoint exit {rc}")
    check(r.wait_exit(p, 5) == -signal.SIGKILL, "not killed by --kill")
    info = real_lines(r, "info", p.pid)
    check(info and f"target={p.pid}" in info[0] and "scope=3" in info[0] and "signal=9" in info[0] and
          f"dest={img}" in info[0], f"cr_get_checkpoint_info(): {info}")
    check(real_rc(r, p.pid) == 0, f"cr_checkpoint() returned {real_rc(r, p.pid)} at checkpoint time, expected 0")
    rs = r.start([r.cr_restart] + (["--no-restore-pid"] if user else []) + [img], user=user)
    check(r.wait_exit(rs) == 5, f"cr_restart exit {rs.returncode}: {read(rs.errpath)}")
    pid = p.pid
    if user:
        restarts = [l for l in read(r.real_log).splitlines() if l.startswith("restart ")]
        check(restarts, f"the restarted copy's callback did not run: {read(r.real_log)}")
        pid = int(restarts[0].split()[1])
    check(real_rc(r, pid) == rs.pid, f"restarted cr_checkpoint() returned {real_rc(r, pid)}, expected {rs.pid}")
    check(real_lines(r, "restart", pid) == [f"restart {pid} requester={rs.pid} src={img}"],
          f"cr_get_restart_info(): {real_lines(r, 'restart', pid)}")
    check(read(out) == steps(30), f"output differs from an uninterrupted run: {read(out)[-60:]!r}")


def case_real_nobody(r):
    for f in (r.prog("real_counter"), os.path.join(r.tools, "libcr.so.0")):
        path = f
        while path != "/":
            if not os.stat(path).st_mode & 0o001:
                raise SystemExit(77)
            path = os.path.dirname(path)
    real_roundtrip(r, user=True)


def case_real_roundtrip(r):
    real_roundtrip(r)


def case_real_thread_roundtrip(r):
    real_roundtrip(r, REAL_CONTEXT="thread")


def case_real_temp(r):
    out = r.path("out")
    p = real_start(r, 20, out, REAL_DECISION="temp")
    r.wait_lines(out, 3)
    rc, _, err, _ = r.run([r.cr_checkpoint, "-f", r.path("img"), p.pid])
    check(rc == 50, f"exit {rc}, expected 50")
    check(real_rc(r, p.pid) == -CR_ETEMPFAIL, f"cr_checkpoint() returned {real_rc(r, p.pid)}")
    check(not os.path.exists(r.path("img")), "an image was left")
    check(r.wait_exit(p) == 5 and read(out) == steps(20), "the process did not run on")


def case_real_perm(r):
    out = r.path("out")
    p = real_start(r, 50, out, REAL_DECISION="perm")
    r.wait_lines(out, 3)
    rc, _, err, _ = r.run([r.cr_checkpoint, "-f", r.path("img"), p.pid])
    check(rc == 51, f"exit {rc}, expected 51")
    check(r.wait_exit(p, 5) == -signal.SIGKILL, f"ended with {p.returncode}, expected SIGKILL")


def case_real_omit(r):
    out = r.path("out")
    p = real_start(r, 20, out, REAL_DECISION="omit")
    r.wait_lines(out, 3)
    rc, _, err, _ = r.run([r.cr_checkpoint, "--kill", "-f", r.path("img"), p.pid])
    check(rc == 3, f"exit {rc}, expected 3")
    r.wait_for("cr_checkpoint() to return", lambda: real_lines(r, "checkpoint", p.pid), 5)
    check(real_rc(r, p.pid) == -CR_EOMITTED, f"cr_checkpoint() returned {real_rc(r, p.pid)}")
    check(r.wait_exit(p) == 5 and read(out) == steps(20), "the process did not run on")


def case_real_continue(r):
    out = r.path("out")
    p = real_start(r, 30, out)
    r.wait_lines(out, 3)
    img = r.path("img")
    rc, _, err, _ = r.run([r.cr_checkpoint, "-f", img, p.pid])
    check(rc == 0, f"cr_checkpoint exit {rc}")
    check(real_rc(r, p.pid) == 0, f"cr_checkpoint() returned {real_rc(r, p.pid)}")
    check(r.wait_exit(p) == 5 and read(out) == steps(30), "the process did not run on")
    rs = r.start([r.cr_restart, img])
    check(r.wait_exit(rs) == 5, f"cr_restart exit {rs.returncode}: {read(rs.errpath)}")
    check(real_rc(r, p.pid) == rs.pid, "the restarted copy's cr_checkpoint() did not return cr_restart's pid")
    check(read(out) == steps(30), "output after the restart differs")


def case_real_cr_run(r):
    out = r.path("out")
    p = r.start([os.path.join(r.tools, "cr_run"), r.prog("coop_counter_plain"), 30, 100], out=out)
    r.wait_lines(out, 4)
    img = r.path("img")
    rc, _, err, _ = r.run([r.cr_checkpoint, "--require-libcr", "--kill", "-f", img, p.pid])
    check(rc == 0, f"cr_checkpoint --require-libcr of a process under cr_run: exit {rc}")
    check(r.wait_exit(p, 5) == -signal.SIGKILL, "not killed by --kill")
    rs = r.start([r.cr_restart, img])
    check(r.wait_exit(rs) == 5, f"cr_restart exit {rs.returncode}: {read(rs.errpath)}")
    check(read(out) == steps(30), "output differs from an uninterrupted run")


def case_real_cr_run_omit(r):
    out = r.path("out")
    p = r.start([os.path.join(r.tools, "cr_run"), "--omit", r.prog("coop_counter_plain"), 20, 100], out=out)
    r.wait_lines(out, 3)
    rc, _, err, _ = r.run([r.cr_checkpoint, "--kill", "-f", r.path("img"), p.pid])
    check(rc == 3, f"exit {rc}, expected 3 (the process omits itself)")
    check(r.wait_exit(p) == 5 and read(out) == steps(20), "the process did not run on")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("skipped: the coop tests run as root (they switch to uid 65534 themselves)")
        return 77
    r = Runner(args)
    try:
        CASES[args.case](r)
    except Failure as e:
        print(f"FAIL coop/{args.case}: {e}")
        print(f"fakecr log:\n{read(r.log)}")
        return 1
    except SystemExit as e:
        return e.code
    finally:
        r.cleanup()
    print(f"PASS coop/{args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
