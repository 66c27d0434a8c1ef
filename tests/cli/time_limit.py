#!/usr/bin/env python3
"""cr_checkpoint -t 1 whose image cannot be written (stdout is a pipe nobody
reads) gives up by itself within ~5 s with a non-zero exit and a message about
the time limit; the target keeps running.  A generous -t does not disturb a
normal checkpoint."""
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

LIMIT = 6.0  # seconds: -t 1 plus slack for start-up and thawing


def body(t):
    s = t.big_mem(16)  # far more than the 4 KiB pipe holds

    t.section("-t 1 with a stalled output pipe")
    dump = clitest.BlockedDump(t, s.pid, ["-t", "1"])
    try:
        r = dump.proc.wait(LIMIT)
        elapsed = time.monotonic() - dump.t0
        t.check(r.rc is not None, f"cr_checkpoint -t 1 did not give up within {LIMIT}s ({r})")
        if r.rc is None:
            r = dump.proc.wait(20)
            t.log(f"  (it exited {elapsed:.1f}s later: {r})")
            if r.rc is None:
                dump.proc.kill()
        else:
            t.log(f"  gave up after {elapsed:.2f}s")
            t.check(r.rc != 0, f"cr_checkpoint -t 1 should fail: {r}")
            t.check("time" in r.err.lower(), f"message should mention the time limit: {r}")
        dump.drain()
    finally:
        dump.close()
    t.check(clitest.tracer_pid(s.pid) == 0, f"target still traced by pid {clitest.tracer_pid(s.pid)}")
    t.check_running(s, "target after the timed-out checkpoint")

    t.section("-t 60 on a normal checkpoint")
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "-t", "60", "-f", img, s.pid], timeout=60)
    t.check(r.rc == 0, f"cr_checkpoint -t 60 should succeed: {r}")
    t.check(os.path.isfile(img), "no image written")
    t.check_running(s, "target after the checkpoint with -t 60")


if __name__ == "__main__":
    clitest.main(body)
