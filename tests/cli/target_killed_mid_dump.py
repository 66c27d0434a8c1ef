#!/usr/bin/env python3
"""The target is SIGKILLed while cr_checkpoint is blocked writing its image to a
full pipe: cr_checkpoint must notice, exit non-zero with a message, and not
hang."""
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    s = t.big_mem(64)
    before = set(t.live_descendants())
    dump = clitest.BlockedDump(t, s.pid)
    try:
        dump.require_blocked(s.pid, "the 64 MiB dump")
        os.kill(s.pid, signal.SIGKILL)
        # While traced, the dead target stays a zombie its parent (this test) cannot
        # reap until the tracer has waited for it, so reap it in the background.
        t.require(clitest.wait_for(lambda: not clitest.is_alive(s.pid), 10),
                  f"target pid {s.pid} did not die after SIGKILL: {t.state_desc(s.pid)}")
        t.reap_in_background(s)
        dump.drain()
        r = dump.proc.wait(30)
        t.check(r.rc is not None, f"cr_checkpoint hung after its target was killed: {r}")
        t.check(r.rc not in (None, 0), f"cr_checkpoint should fail when its target dies mid-dump: {r}")
        t.check(r.err.strip(), f"cr_checkpoint should explain on stderr: {r}")
        t.log(f"  {dump.drained} bytes came through the pipe")
        if r.rc is None:
            dump.proc.kill()
        try:
            s.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        t.check(s.popen.returncode == -signal.SIGKILL,
                f"target not reaped after the dumper exited: {clitest.describe_status(s.popen.returncode)}, "
                f"{t.state_desc(s.pid)}")
    finally:
        dump.close()
    t.check_no_new_processes(before | {dump.proc.pid}, "after the aborted dump")


if __name__ == "__main__":
    clitest.main(body)
