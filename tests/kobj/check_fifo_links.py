#!/usr/bin/python3
"""A FIFO with two hard links (root). programs/fifo_links opens its read end through
a.fifo and its write end through b.fifo, a link of it; it is run plainly once (the
reference), then up to its point and checkpointed with --kill. The image is restarted
three times, after:
  1. both names removed: both made again, links of one FIFO; the program's output
     (one inode for both ends and both names, data through one read through the other)
     must equal the reference's;
  2. b.fifo removed: made again as a link of a.fifo; same output;
  3. b.fifo made another FIFO: cr_restart warns, naming it; both ends stay on the FIFO
     at a.fifo (data still goes through), b.fifo is left as the user made it.
Usage: check_fifo_links.py TOOLS PROGRAM"""
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_unprivileged import (check_same_output, end_scratch, fail, reap_orphans,  # noqa: E402
                                reference_and_image, syscall_of)


def restart(tools, img, run, prepare):
    """Removes/makes names with prepare(dir), restarts img, releases the program at its
    point; returns (cr_restart's status, its stderr, the program's output)."""
    for name in ("a.fifo", "b.fifo"):
        if os.path.lexists(os.path.join(run.dir, name)):
            os.unlink(os.path.join(run.dir, name))
    os.mkfifo(os.path.join(run.dir, "a.fifo"), 0o640)
    os.link(os.path.join(run.dir, "a.fifo"), os.path.join(run.dir, "b.fifo"))
    prepare(run.dir)
    open(run.out_path, "wb").close()
    cr = subprocess.Popen([os.path.join(tools, "cr_restart"), img], cwd=run.dir,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 20
        while syscall_of(run.proc.pid) != "130":
            if cr.poll() is not None or time.monotonic() > end:
                fail("restart did not come up: %s" % cr.stderr.read().decode())
            time.sleep(0.01)
        os.kill(run.proc.pid, signal.SIGUSR2)
        status = cr.wait(timeout=20)
        return status, cr.stderr.read().decode(), run.stdout()
    finally:
        if cr.poll() is None:
            cr.kill()
            cr.wait()
        reap_orphans()


def main():
    tools, prog = sys.argv[1], sys.argv[2]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    root = tempfile.mkdtemp(prefix="crest-kobj-fifo-links-")
    ok = False
    try:
        want, run, img = reference_and_image(root, tools, prog)

        def both_gone(d):
            os.unlink(os.path.join(d, "a.fifo"))
            os.unlink(os.path.join(d, "b.fifo"))

        def b_gone(d):
            os.unlink(os.path.join(d, "b.fifo"))

        for what, prepare in (("both names removed", both_gone), ("b.fifo removed", b_gone)):
            status, err, out = restart(tools, img, run, prepare)
            print("%s: cr_restart exit %d: %s" % (what, status, err.strip()))
            if status != 0:
                fail("%s: cr_restart exit %d" % (what, status))
            check_same_output(want, out)

        def b_other(d):
            os.unlink(os.path.join(d, "b.fifo"))
            os.mkfifo(os.path.join(d, "b.fifo"), 0o600)

        status, err, out = restart(tools, img, run, b_other)
        print("b.fifo another FIFO: cr_restart exit %d: %s" % (status, err.strip()))
        if "b.fifo is no longer a link of" not in err:
            fail("no warning naming b.fifo")
        if b"through b.fifo to a.fifo: ok" not in out:
            fail("the ends are not on one FIFO:\n" + out.decode())
        print("PASS")
        ok = True
    finally:
        end_scratch(root, ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
