#!/usr/bin/env python3
"""cr_checkpoint is SIGKILLed while blocked writing the image of a (frozen)
target to a full pipe: the target must then run again (not stopped, not
traced) and its counter must keep advancing."""
import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    s = t.big_mem(64)
    dump = clitest.BlockedDump(t, s.pid)
    try:
        dump.require_blocked(s.pid, "the 64 MiB dump")
        dump.proc.kill()
        t.log(f"  cr_checkpoint: {clitest.describe_status(dump.proc.popen.returncode)}")
        dump.drain()
    finally:
        dump.close()
    time.sleep(0.5)
    st = clitest.read_stat(s.pid)
    t.require(st is not None and st.state not in ("Z", "X"),
              f"target pid {s.pid} died when the dumper was killed "
              f"({clitest.describe_status(s.popen.poll())})")
    t.check(st.state not in ("T", "t"), f"target left in state {st.state} 0.5 s after the dumper was killed")
    t.check(clitest.tracer_pid(s.pid) == 0, f"target still traced by pid {clitest.tracer_pid(s.pid)}")
    t.check_running(s, "target after the dumper was killed")
    # memory must be intact too
    before = s.text().count("verify ok")
    os.kill(s.pid, signal.SIGUSR1)
    t.check(clitest.wait_for(lambda: s.text().count("verify ok") > before, 5),
            f"target's memory pattern check failed after the aborted dump: {s.text()[-200:]!r}")


if __name__ == "__main__":
    clitest.main(body)
