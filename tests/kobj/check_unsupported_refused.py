#!/usr/bin/env python3
"""State crest does not restore is refused by name (as root; as uid 65534 too for what an
ordinary user can hold). The program
(programs/unsupported_hold.c) holds one kind of it and waits; then:
  1. cr_checkpoint PID must exit 95 (ENOTSUP), naming the process and what it holds
     (for a lock: the fd), leave no image, and leave the program running, untraced;
  2. cr_checkpoint --skip-unsupported PID must succeed and list it in a warning, or for
     state that cannot be left out (NOT_SKIPPABLE) fail the same way.
Usage: check_unsupported_refused.py TOOLS PROGRAM CASE
Exit: 0 pass, 1 fail, 77 when this kernel or container cannot make the state."""
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

WHAT = {
    "timer": "on a CPU-time clock of a given process",
    "lease_breaking": "a lease being broken",
    "seccomp": "seccomp mode 2",
    "aio": "AIO context (io_setup)",
    "timens": "pending time namespace",
    "scm_rights": "fd 7 (socket:",
    "pending_outside": "fd 7: listening socket",
    "netlink_queued": "fd 7 (socket:",
    "packet_ring": "fd 7 (socket:",
    "memfd_sealed_mapped": "fd 7: memfd /memfd:crest-sealed-mapped with F_SEAL_WRITE is mapped shared",
    "memfd_hugetlb": "fd 7: memfd /memfd:crest-huge made with MFD_HUGETLB",
    "pidfd_outside": "fd 7: pidfd of process 1, which is not in the checkpoint",
    "pidfd_dead": "fd 7: pidfd of a process that is gone",
    "guard": "has guard pages (MADV_GUARD_INSTALL)",
}
# State that --skip-unsupported cannot leave out either (guard pages: the dump reads every
# page of their area, and a guard page cannot be read).
NOT_SKIPPABLE = {"guard"}
# A second phrase the message must hold.
ALSO = {"scm_rights": "2 file descriptors in flight (SCM_RIGHTS)",
        "pending_outside": "1 connections not yet accepted, 1 of them from clients outside the image",
        "netlink_queued": "netlink messages queued, not yet read",
        "packet_ring": "a packet socket with a mapped ring (PACKET_RX_RING/PACKET_TX_RING)"}


def fail(msg):
    print("FAIL: " + msg, flush=True)
    raise SystemExit(1)


def tracer_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return -1


def main():
    tools, prog, case = sys.argv[1:4]
    want = WHAT[case]
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: we reap what we start
    root = tempfile.mkdtemp(prefix="crest-kobj-refused-")
    proc = None
    ok = False
    try:
        proc = subprocess.Popen([prog, case, root], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        line = proc.stdout.readline() if ready else b""
        if line != b"READY\n":
            err = proc.stderr.read().decode() if proc.poll() is not None else ""
            if proc.poll() == 2 and ("Operation not permitted" in err or "Invalid argument" in err):
                print("SKIP: this machine cannot make the state: " + err.strip())
                ok = True
                return 77
            fail("program did not get ready (%s): %s" % (proc.poll(), err))
        pid = proc.pid
        ckpt = os.path.join(tools, "cr_checkpoint")
        img = os.path.join(root, "img")
        r = subprocess.run([ckpt, "-f", img, str(pid)], capture_output=True, text=True, timeout=60)
        if r.returncode != 95:
            fail("cr_checkpoint exit %d, not 95; stderr: %s" % (r.returncode, r.stderr))
        if ("process %d" % pid) not in r.stderr or want not in r.stderr or ALSO.get(case, want) not in r.stderr:
            fail("the error does not name process %d and %r: %s" % (pid, want, r.stderr))
        if os.path.exists(img):
            fail("a refused checkpoint left an image")
        if proc.poll() is not None or tracer_of(pid) != 0:
            fail("the program is not running untraced after the refusal")
        print("refused: " + r.stderr.strip())
        r = subprocess.run([ckpt, "--skip-unsupported", "-f", img, str(pid)], capture_output=True, text=True,
                           timeout=60)
        if case in NOT_SKIPPABLE:
            if r.returncode != 95 or want not in r.stderr or os.path.exists(img):
                fail("cr_checkpoint --skip-unsupported exit %d, not 95 naming %r: %s" % (r.returncode, want, r.stderr))
        else:
            if r.returncode != 0:
                fail("cr_checkpoint --skip-unsupported exit %d: %s" % (r.returncode, r.stderr))
            if "warning" not in r.stderr or want not in r.stderr or ("process %d" % pid) not in r.stderr:
                fail("--skip-unsupported does not warn about %r: %s" % (want, r.stderr))
        if proc.poll() is not None or tracer_of(pid) != 0:
            fail("the program is not running untraced after the checkpoint")
        print(("refused with --skip-unsupported too: " if case in NOT_SKIPPABLE else "left out: ") + r.stderr.strip())
        print("PASS")
        ok = True
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print("scratch kept in %s" % root)


if __name__ == "__main__":
    sys.exit(main())
