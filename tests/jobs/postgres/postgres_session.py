#!/usr/bin/python3
"""PostgreSQL acceptance test: a cluster made with initdb in a scratch directory (as uid
65534: postgres refuses root), started with pg_ctl and holding a session over its unix
socket (pg_session.py, whose tree holds the postmaster, its backends and the client), is
checkpointed with cr_checkpoint --tree --kill and restarted (crest as root, so the
processes get their pids back: backends signal the postmaster by its pid); then the session
opened before the checkpoint (served by the same backend) and a new connection must both
answer queries on the data made before, a write after the restart must be seen by both, a
CHECKPOINT must complete, pg_ctl stop must stop the cluster, and the server log must hold
no error.
Usage: postgres_session.py TOOLS
Exit: 0 pass, 1 fail, 77 when PostgreSQL is not installed."""
import ctypes
import glob
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def fail(msg):
    print("FAIL: " + msg, flush=True)
    raise SystemExit(1)


def read_line(proc, timeout=30):
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        fail("no answer within %d s" % timeout)
    line = proc.stdout.readline()
    if not line:
        fail("the session holder's output ended (exit %s)" % proc.poll())
    return line.decode().strip()


def ask(proc, command, want):
    proc.stdin.write((command + "\n").encode())
    proc.stdin.flush()
    got = read_line(proc)
    print("%s -> %s" % (command, got), flush=True)
    if got != want:
        fail("%r answered %r, not %r" % (command, got, want))


def reap_all(seconds):
    """Reaps every child (and reparented orphan) until none is left, for at most `seconds`."""
    end = time.time() + seconds
    while time.time() < end:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.05)
        except ChildProcessError:
            return


def main():
    tools = sys.argv[1]
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        print("SKIP: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
        return 77
    bindir = os.path.dirname(bins[-1])
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: we reap what we start
    root = tempfile.mkdtemp(prefix="crest-pg-")
    os.chmod(root, 0o755)
    os.chown(root, 65534, 65534)
    data = os.path.join(root, "data")
    port = random.randint(20000, 60000)
    holder = restarted = None
    ok = False
    try:
        subprocess.run(NOBODY + [os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
                                 "--no-sync"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True,
                       cwd=root)
        holder = subprocess.Popen(NOBODY + ["/usr/bin/python3", os.path.join(HERE, "pg_session.py"), bindir, data,
                                            str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=root, bufsize=0)
        for _ in range(3):
            line = read_line(holder, 60)
        if line != "READY":
            fail("the cluster did not start: %r" % line)
        ask(holder, "session select count(*), sum(k) from t", "1000,500500")
        holder.stdin.write(b"session select pg_backend_pid()\n")
        holder.stdin.flush()
        backend = read_line(holder)
        img = os.path.join(root, "pg.img")
        r = subprocess.run([os.path.join(tools, "cr_checkpoint"), "--tree", "--kill", "-f", img, str(holder.pid)],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail("cr_checkpoint exit %d: %s" % (r.returncode, r.stderr.strip()))
        print("checkpointed: %d bytes" % os.path.getsize(img), flush=True)
        holder.wait(timeout=30)
        reap_all(10)  # the killed cluster's processes, reparented to us: their pids are wanted back
        restarted = subprocess.Popen([os.path.join(tools, "cr_restart"), img], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root, bufsize=0)
        ask(restarted, "session select count(*), sum(k) from t", "1000,500500")
        ask(restarted, "new select count(*), max(v) from t where k > 990", "10,row 999")
        ask(restarted, "session insert into t values (1001, 'after restart')", "")
        ask(restarted, "new select v from t where k = 1001", "after restart")
        # The same backend serves the session; the checkpointer answers a backend's request.
        ask(restarted, "session select pg_backend_pid()", backend)
        ask(restarted, "new checkpoint", "")
        ask(restarted, "session select count(*) from t", "1001")
        ask(restarted, "stop", "STOPPED 0")
        restarted.wait(timeout=60)
        # Up to the stop: the fast shutdown may still find the last new connection's backend
        # on its way out, and says so.
        log = open(os.path.join(root, "pg.log")).read().split("received fast shutdown request")[0]
        for bad in ("PANIC", "FATAL", "terminated by signal", "server process", "ERROR"):
            if bad in log:
                fail("the server log says %r:\n%s" % (bad, log))
        print("PASS", flush=True)
        ok = True
        return 0
    finally:
        for p in (holder, restarted):
            if p and p.poll() is None:
                p.kill()
        # Whatever is left of the cluster (a failed restart): stopped by the postmaster's pid.
        try:
            with open(os.path.join(data, "postmaster.pid")) as f:
                os.kill(int(f.readline()), signal.SIGQUIT)
            time.sleep(1)
        except (OSError, ValueError):
            pass
        reap_all(10)
        if not ok:
            log = os.path.join(root, "pg.log")
            if os.path.exists(log):
                print("----- pg.log -----\n" + open(log).read()[-3000:], flush=True)
            if restarted and restarted.stderr:
                print("----- cr_restart stderr -----\n" + restarted.stderr.read().decode(errors="replace"), flush=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
