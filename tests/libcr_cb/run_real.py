#!/usr/bin/python3
"""libcr callbacks with the real tools: real_app (callbacks in both contexts, hooks) is
checkpointed by cr_checkpoint and restarted by cr_restart.

    run_real.py --tools DIR --app PATH --case NAME [--as-nobody]

Cases: roundtrip, roundtrip_file, twice, forward, slow, temp, perm, omit, cs. A restarted program is judged by its output
(a suffix of an uninterrupted run's, ending with the same checksum) and exit status;
callbacks by the events real_app appends to a file. Standard library only (runs under
/usr/bin/python3 as uid 65534 too).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

LINES = 60
EXIT = 7


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Env:
    def __init__(self, args):
        self.tools = args.tools
        self.app = args.app
        self.prefix = []
        self.dir = tempfile.mkdtemp(prefix="libcr_real.")
        os.chmod(self.dir, 0o755)
        if args.as_nobody:
            os.chown(self.dir, 65534, 65534)
            self.prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        self.new_pid = args.no_restore_pid or args.as_nobody
        self.ctx = os.path.join(self.dir, "ctx")
        self.events = os.path.join(self.dir, "events")
        self.procs = []

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def popen(self, argv, **kw):
        p = subprocess.Popen(self.prefix + argv, **kw)
        self.procs.append(p)
        return p

    def app_argv(self, mode, events=None):
        return [self.app, mode, events or self.events, self.ctx, str(LINES)]

    def reference(self):
        p = self.popen(self.app_argv("ready", os.path.join(self.dir, "ref_events")),
                       stdout=subprocess.PIPE)
        out, _ = p.communicate(timeout=30)
        check(p.returncode == EXIT, "reference run exited %s" % p.returncode)
        return out.decode()

    def start(self, mode, wait_line=3):
        p = self.popen(self.app_argv(mode), stdout=subprocess.PIPE)
        seen = []
        while True:
            line = p.stdout.readline().decode()
            check(line != "", "the program ended before line %d" % wait_line)
            seen.append(line)
            if line == "line %d\n" % wait_line:
                return p, seen

    def checkpoint(self, pid, ctx=None, extra=()):
        r = subprocess.run(self.prefix + [os.path.join(self.tools, "cr_checkpoint"), "-f", ctx or self.ctx]
                           + list(extra) + [str(pid)], timeout=60)
        return r.returncode

    def restart(self, ctx=None):
        p = self.popen(self.restart_argv(ctx), stdout=subprocess.PIPE)
        out, _ = p.communicate(timeout=60)
        if p.returncode == 16 and not self.new_pid:
            # EBUSY: a pid of the image was taken by another process meanwhile (tests run
            # in parallel on a busy machine); that is not what these tests are about.
            print("note: a pid is in use, restarting with --no-restore-pid", file=sys.stderr)
            self.new_pid = True
            try:
                return self.restart(ctx)
            finally:
                self.new_pid = False
        return p.returncode, out.decode()


    def restart_argv(self, ctx=None):
        argv = [os.path.join(self.tools, "cr_restart")]
        if self.new_pid:
            argv.append("--no-restore-pid")
        return argv + [ctx or self.ctx]

    def event_lines(self):
        with open(self.events) as f:
            return f.read().splitlines()


def finish(p, seen):
    rest, _ = p.communicate(timeout=30)
    return p.returncode, "".join(seen) + rest.decode()


def index(lines, text):
    for i, l in enumerate(lines):
        if l.startswith(text):
            return i
    fail("no event %r in %r" % (text, lines))


def check_checkpoint_events(ev, result):
    """The checkpoint part: thread-context first, signal-context newest first, after-code
    oldest first, every level the same result, the CONT hooks."""
    t, s1, s0 = index(ev, "T before"), index(ev, "S1 before"), index(ev, "S0 before")
    check(t < s1 < s0, "order of the 'before' parts: %r" % ev)
    a0, a1, at = index(ev, "S0 " + result), index(ev, "S1 " + result), index(ev, "T " + result)
    check(s0 < a0 < a1, "order of the 'after' parts: %r" % ev)
    check(at > s0, "thread-context after-code before the checkpoint: %r" % ev)
    check("T dest=" in "\n".join(ev), "cr_get_checkpoint_info() in the thread-context callback: %r" % ev)
    check(index(ev, "W " + result) > index(ev, "W before") > t, "the worker thread's callback: %r" % ev)
    if result == "continue":
        # CR_HOOK_CONT_SIGNAL_CONTEXT in the main thread (after its after-code) and the
        # worker, CR_HOOK_CONT_THREAD_CONTEXT in the callback thread.
        check(ev.count("hook 0") == 2 and "hook 0" in ev[a1:] and ev.count("hook 1") == 1, "CONT hooks: %r" % ev)


def check_restart(env, ref, ev_before):
    rc, out = env.restart()
    check_restarted(env, ref, ev_before, rc, out)


def check_restarted(env, ref, ev_before, rc, out):
    check(rc == EXIT, "cr_restart exited %s (want the program's %d)" % (rc, EXIT))
    if out:
        check(ref.endswith(out) and out.startswith("line "),
              "restarted output is not the end of the uninterrupted run's:\n%s" % out)
    ev = env.event_lines()[len(ev_before):]
    a0, a1 = index(ev, "S0 restart ok"), index(ev, "S1 restart ok")
    check(a0 < a1, "restart after-code order: %r" % ev)
    index(ev, "T restart ok")
    index(ev, "W restart ok")
    check("T src=" + env.ctx in ev, "cr_get_restart_info()->src: %r" % ev)
    check(ev.count("hook 3") == 2 and ev.count("hook 4") == 1, "RSTRT hooks: %r" % ev)
    check(not any(l.endswith(" restart bad") for l in ev), "restart checks failed: %r" % ev)


def case_roundtrip_file(env):
    """The program's output goes to a file; the original is killed right after the
    checkpoint and the restarted copy must leave the file exactly as an uninterrupted run
    does."""
    ref = env.reference()
    out_path = os.path.join(env.dir, "out")
    with open(out_path, "wb") as out:
        if env.prefix:
            os.chown(out_path, 65534, 65534)
        p = env.popen(env.app_argv("ready"), stdout=out)
    deadline = time.monotonic() + 20
    while "line 3\n" not in open(out_path).read():
        check(time.monotonic() < deadline and p.poll() is None, "the program did not reach line 3")
        time.sleep(0.01)
    check(env.checkpoint(p.pid) == 0, "cr_checkpoint failed")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    ev = env.event_lines()
    check_checkpoint_events(ev, "continue")
    rc, _ = env.restart()
    check(rc == EXIT, "cr_restart exited %s (want the program's %d)" % (rc, EXIT))
    with open(out_path) as f:
        check(f.read() == ref, "the output file differs from the uninterrupted run's")
    check_restarted(env, ref, ev, rc, "")


def case_roundtrip(env):
    ref = env.reference()
    p, seen = env.start("ready")
    check(env.checkpoint(p.pid) == 0, "cr_checkpoint failed")
    rc, out = finish(p, seen)
    check(rc == EXIT and out == ref, "the checkpointed program did not run on as the uninterrupted run")
    ev = env.event_lines()
    check_checkpoint_events(ev, "continue")
    check_restart(env, ref, ev)


def case_twice(env):
    """Checkpoint, restart, checkpoint the restarted process (every thread is reached again,
    with new thread ids under --no-restore-pid), restart that image."""
    ref = env.reference()
    p, seen = env.start("ready")
    check(env.checkpoint(p.pid) == 0, "cr_checkpoint failed")
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    ev1 = env.event_lines()
    r = env.popen(env.restart_argv(), stdout=subprocess.PIPE)
    first = r.stdout.readline().decode()
    if not first and r.wait() == 16 and not env.new_pid:  # a pid taken meanwhile (EBUSY)
        env.new_pid = True
        r = env.popen(env.restart_argv(), stdout=subprocess.PIPE)
        first = r.stdout.readline().decode()
    check(first.startswith("line "), "no output from the restarted program")
    with open("/proc/%d/task/%d/children" % (r.pid, r.pid)) as f:
        children = f.read().split()
    check(len(children) == 1, "cr_restart has children %r" % children)
    ctx2 = os.path.join(env.dir, "ctx2")
    ev2_start = len(env.event_lines())
    check(env.checkpoint(int(children[0]), ctx2) == 0, "cr_checkpoint of the restarted process failed")
    ev2 = env.event_lines()[ev2_start:]
    check_checkpoint_events(ev2, "continue")
    rest, _ = r.communicate(timeout=60)
    check(r.returncode == EXIT and ref.endswith(first + rest.decode()),
          "the restarted program did not run on as the uninterrupted run")
    env.ctx = ctx2
    ev3 = env.event_lines()
    rc, out = env.restart()
    check_restarted(env, ref, ev3, rc, out)
    del ev1


def case_forward(env):
    """cr_checkpoint --pid of the program: its thread-context callback forwards the
    checkpoint to its child, so the image holds both and the restarted program can still
    kill and reap its child."""
    ref = env.reference()
    p, seen = env.start("forward")
    check(env.checkpoint(p.pid, extra=["--pid"]) == 0, "cr_checkpoint failed")
    ev = env.event_lines()
    check("T forward 0" in ev, "cr_forward_checkpoint() failed: %r" % ev)
    rc, out = finish(p, seen)
    check(rc == EXIT and out == ref, "the checkpointed program did not run on as the uninterrupted run")
    check_checkpoint_events(ev, "continue")
    ev = env.event_lines()
    check("child reaped" in ev, "the original did not reap its child")
    check_restart(env, ref, ev)
    check("child reaped" in env.event_lines()[len(ev):], "the restarted program has no restored child")


def case_slow(env):
    """cr_checkpoint --time 1 while the thread-context callback takes 2 s: the dumper
    gives up (exit ETIMEDOUT), the program runs on unchanged, the slow callback's
    cr_checkpoint() returns -ETIMEDOUT and no signal-context callback starts."""
    global LINES
    LINES = 150
    ref = env.reference()
    p, seen = env.start("slow")
    t0 = time.monotonic()
    r = subprocess.run(env.prefix + [os.path.join(env.tools, "cr_checkpoint"), "-t", "1", "-f", env.ctx,
                                     str(p.pid)], timeout=60)
    check(r.returncode == 110, "cr_checkpoint exited %s, want 110 (ETIMEDOUT)" % r.returncode)
    check(time.monotonic() - t0 < 2.5, "cr_checkpoint did not give up after 1 s")
    rc, out = finish(p, seen)
    check(rc == EXIT and out == ref, "the program did not run on as the uninterrupted run")
    ev = env.event_lines()
    index(ev, "T failed -110")
    check(not any(l.startswith(("S0", "S1", "W")) for l in ev), "phase 2 ran after the dumper gave up: %r" % ev)


def case_failure(env, mode, want_exit, result):
    ref = env.reference()
    p, seen = env.start(mode)
    rc = env.checkpoint(p.pid)
    check(rc == want_exit, "cr_checkpoint exited %s, want %d" % (rc, want_exit))
    check(not os.path.exists(env.ctx), "a context file was left behind")
    rc, out = finish(p, seen)
    if mode == "perm":
        check(rc == -signal.SIGKILL, "PERM: the program was not killed (status %s)" % rc)
        return
    check(rc == EXIT and out == ref, "the program did not run on as the uninterrupted run")
    ev = env.event_lines()
    index(ev, "S0 " + result)
    index(ev, "S1 " + result)  # the newer callback saw the older one's decision
    index(ev, "T " + result)


def case_cs(env):
    ref = env.reference()
    p, seen = env.start("cs", wait_line=4)  # inside the section (lines 3..12)
    t0 = time.monotonic()
    check(env.checkpoint(p.pid) == 0, "cr_checkpoint failed")
    ev = env.event_lines()
    leave = index(ev, "leave at=12")
    check(index(ev, "T before") > leave and index(ev, "S1 before") > leave,
          "callbacks ran inside the critical section: %r" % ev)
    at = int(ev[index(ev, "T before")].split("at=")[1])
    check(at >= 12, "the checkpoint was not deferred to the section's end (at=%d)" % at)
    check(time.monotonic() - t0 > 0.1, "cr_checkpoint returned before the section ended")
    rc, out = finish(p, seen)
    check(rc == EXIT and out == ref, "the program did not run on as the uninterrupted run")
    check_checkpoint_events(ev, "continue")
    check_restart(env, ref, ev)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--app", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--as-nobody", action="store_true")
    ap.add_argument("--no-restore-pid", action="store_true")
    args = ap.parse_args()
    env = Env(args)
    try:
        if args.case == "roundtrip":
            case_roundtrip(env)
        elif args.case == "roundtrip_file":
            case_roundtrip_file(env)
        elif args.case == "temp":
            case_failure(env, "temp", 50, "failed -2354")
        elif args.case == "perm":
            case_failure(env, "perm", 51, "")
        elif args.case == "omit":
            case_failure(env, "omit", 3, "failed -2358")
        elif args.case == "forward":
            case_forward(env)
        elif args.case == "slow":
            case_slow(env)
        elif args.case == "twice":
            case_twice(env)
        elif args.case == "cs":
            case_cs(env)
        else:
            fail("unknown case " + args.case)
    finally:
        env.cleanup()
    print("ok")


if __name__ == "__main__":
    main()
