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
