#!/usr/bin/env python3
"""Acceptance: a tmux server with two windows (a counter and `cat`), checkpointed with
cr_checkpoint --tree SERVER --kill and restarted (cr_restart --restore-sid --restore-pgid).
Afterwards `tmux capture-pane` must show the counter still counting and `cat` answering
keys sent with send-keys; each pane's program is again a session leader with its pty as
controlling terminal. No terminal is needed: tmux makes its ptys itself.
Usage: check_tmux.py TOOLS. Exit 0 pass, 1 fail, 77 skip (no tmux)."""
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

COUNTER = "i=0; while :; do echo count $i; i=$((i+1)); sleep 0.2; done"


def fail(msg):
    raise SystemExit("FAIL: " + msg)


def wait_for(what, check, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = check()
        if v:
            return v
        time.sleep(0.05)
    fail("timed out waiting for " + what)


def stat_fields(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def alive(pid):
    s = stat_fields(pid)
    return s is not None and s[0] not in "ZX"


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return


def main():
    tools = sys.argv[1]
    tmux_bin = shutil.which("tmux")
    if not tmux_bin:
        print("SKIP: tmux is not installed")
        return 77
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the daemonized server is ours
    root = tempfile.mkdtemp(prefix="crest-tmux-")
    sock = os.path.join(root, "sock")
    env = dict(os.environ, TERM="xterm")
    env.pop("TMUX", None)

    def tmux(*args, check=True):
        r = subprocess.run([tmux_bin, "-S", sock, *args], env=env, capture_output=True, text=True, timeout=10)
        if check and r.returncode != 0:
            fail("tmux %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout

    def last_count():
        m = re.findall(r"count (\d+)", tmux("capture-pane", "-p", "-t", ":0"))
        return int(m[-1]) if m else None

    def cat_shows(word, times):
        return tmux("capture-pane", "-p", "-t", ":1").count(word) >= times

    tracked = []
    cr = None
    ok = False
    try:
        tmux("-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24", COUNTER)
        tmux("new-window", "-d", "cat")
        server = int(tmux("display", "-p", "#{pid}").strip())
        panes = [int(tmux("display", "-p", "-t", w, "#{pane_pid}").strip()) for w in (":0", ":1")]
        tracked = [server] + panes
        wait_for("the counter", lambda: (last_count() or 0) >= 2)
        tmux("send-keys", "-t", ":1", "before", "Enter")
        wait_for("cat echoing 'before'", lambda: cat_shows("before", 2))  # the tty's echo and cat's copy
        ckpt = subprocess.run([os.path.join(tools, "cr_checkpoint"), "--tree", str(server), "--kill", "-f",
                               os.path.join(root, "img")], capture_output=True, text=True, timeout=60)
        if ckpt.returncode != 0:
            fail("cr_checkpoint: exit %d: %s" % (ckpt.returncode, ckpt.stderr))
        wait_for("the checkpointed processes to go", lambda: (reap(), not any(alive(p) for p in tracked))[1])
        cr = subprocess.Popen([os.path.join(tools, "cr_restart"), "--restore-sid", "--restore-pgid",
                               os.path.join(root, "img")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for("the restored server", lambda: all(alive(p) for p in tracked) or cr.poll() is not None)
        if cr.poll() is not None and cr.returncode != 0:
            fail("cr_restart: exit %d: %s" % (cr.returncode, cr.stderr.read().decode()))
        first = wait_for("the counter after the restart", last_count)
        wait_for("the counter to go on", lambda: (last_count() or 0) >= first + 3)
        print("counter: %d, then %d" % (first, last_count()))
        tmux("send-keys", "-t", ":1", "after", "Enter")
        wait_for("cat echoing 'after'", lambda: cat_shows("after", 2))
        print("cat answered send-keys after the restart")
        for pid in panes:
            s = stat_fields(pid)
            if not s or int(s[3]) != pid or int(s[4]) == 0:
                fail("pane process %d: session %s, tty_nr %s (want a session leader with its pty)" %
                     (pid, s and s[3], s and s[4]))
        print("each pane's program leads its session with its pty as controlling terminal")
        tmux("kill-server", check=False)
        print("PASS")
        ok = True
    finally:
        for pid in tracked:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if cr is not None:
            if cr.poll() is None:
                cr.kill()
            cr.wait()
        time.sleep(0.1)
        reap()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print("scratch kept in " + root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
