#!/usr/bin/env python3
"""BLCR's ptrace options: a process traced by another (here: this test, with
PTRACE_SEIZE) makes cr_checkpoint exit 56 (CR_EPTRACED) by default, naming both
pids; checkpointing the tracer exits 57 (CR_EPTRACER); --ptraced-allow cannot
help (one tracer per process) and also exits 56. Nothing is left stopped and
no image is written. The untraced process is checkpointed fine."""
import ctypes
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

PTRACE_SEIZE = 0x4206
PTRACE_DETACH = 17
PTRACE_INTERRUPT = 0x4207
WALL = 0x40000000


def untrace(libc, pid):
    """A seized tracee must be stopped to be detached."""
    libc.ptrace(PTRACE_INTERRUPT, pid, 0, 0)
    os.waitpid(pid, WALL)
    return libc.ptrace(PTRACE_DETACH, pid, 0, 0) == 0


def body(t):
    libc = ctypes.CDLL(None, use_errno=True)
    s = t.spin_print()
    img = t.path("img")
    t.check(libc.ptrace(PTRACE_SEIZE, s.pid, 0, 0) == 0, f"PTRACE_SEIZE failed: errno {ctypes.get_errno()}")
    try:
        for opts, code in (([], 56), (["--ptraced-error"], 56), (["--ptraced-allow"], 56)):
            t.section(f"cr_checkpoint {' '.join(opts)} of a traced process")
            r = t.run([t.cr_checkpoint, *opts, "-f", img, s.pid])
            t.check(r.rc == code, f"expected exit {code}: {r}")
            t.check(str(s.pid) in r.err and str(os.getpid()) in r.err, f"message should name both pids: {r}")
            t.check(not os.path.exists(img), "an image was written")
            t.check_running(s, "traced process after the refused checkpoint")
        t.section("cr_checkpoint --pid of the tracer (this test)")
        r = t.run([t.cr_checkpoint, "--pid", "-f", img, os.getpid()])
        t.check(r.rc == 57, f"expected exit 57 (CR_EPTRACER): {r}")
        t.check(not os.path.exists(img), "an image was written")
    finally:
        t.check(untrace(libc, s.pid), f"could not detach from {s.pid}: errno {ctypes.get_errno()}")
    t.section("after the tracer detached, the same process checkpoints")
    r = t.run([t.cr_checkpoint, "-f", img, s.pid])
    t.check(r.rc == 0, f"checkpoint of the untraced process failed: {r}")
    t.check_running(s, "process after a plain checkpoint")


if __name__ == "__main__":
    clitest.main(body)
