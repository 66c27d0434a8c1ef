"""What the libcr_e2e runners share: failing loudly, being a child subreaper (the
cr_checkpoint that libcr starts is double-forked: it lands here), and reaping."""
import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def become_subreaper():
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_all():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def lines(path):
    """The lines of an event file (none when it does not exist yet)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return f.read().splitlines()


def start_until_ready(argv, events):
    """Starts argv (an event-file program: event_log.h) and waits until it wrote "ready"
    and sits in its sleep. Returns the Popen; the caller ends it (end_all)."""
    import subprocess
    import time
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.time() + 20
    while "ready" not in lines(events):
        if time.time() > deadline or p.poll() is not None:
            p.kill()
            p.wait()
            fail(f"{argv[0]} never got ready (status {p.poll()})")
        time.sleep(0.02)
    time.sleep(0.1)  # inside its sleep
    return p


def restart_events(tools, ctx, events, seen, options=()):
    """cr_restart [options] ctx; returns (its exit status, the event lines written after `seen`)."""
    import subprocess
    try:
        r = subprocess.run([os.path.join(tools, "cr_restart")] + list(options) + [ctx], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        fail(f"the restarted copy did not finish in 60 s; events {lines(events)[len(seen):]}")
    if r.returncode != 7:
        print(r.stderr, file=sys.stderr)
    return r.returncode, lines(events)[len(seen):]


def end_all(procs):
    """Kills (by pid) and waits for every Popen still running, then reaps the rest."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    reap_all()
