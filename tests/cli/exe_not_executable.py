#!/usr/bin/env python3
"""The executable of a checkpointed process lost its execute permission (still
readable, so its mappings can be restored): cr_restart cannot exec it for the stub,
falls back to growing the process out of its own binary (only /proc/PID/exe differs),
and the process carries on counting from where it stopped."""
import os
import shutil
import signal
import stat
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    t.require_root("cr_restart restores the original pid, which needs CAP_CHECKPOINT_RESTORE")
    bindir = t.mkdir("bin")
    prog = os.path.join(bindir, "spin_print")
    shutil.copy2(t.helper("spin_print"), prog)
    s = t.spawn([prog, "0", "30"], name="spin")
    t.wait_output(s, lambda: len(s.counters()) >= 3, "three numbers")

    img = t.path("img")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    t.expect_death(s, signal.SIGKILL)
    os.chmod(prog, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # r--r--r--
    t.require(not os.access(prog, os.X_OK) or os.geteuid() == 0, "chmod did not take")
    last = max(s.counters())

    rp = t.start([t.cr_restart, img])
    t.require_restored(rp, "spin_print", pid=s.pid,
                       failure=f"pid {s.pid} was not restored under cr_restart (pid {rp.pid})")
    t.require(clitest.wait_for(lambda: max(s.counters()) >= last + 3, 10),
              f"restored process is not counting on ({t.state_desc(s.pid)}; tail {s.text()[-80:]!r})")
    exe = os.readlink(f"/proc/{s.pid}/exe")
    t.check(os.path.basename(exe).startswith("cr_restart"),
            f"the stub should have been grown out of cr_restart's binary, /proc/PID/exe is {exe}")
    ticks = s.counters()
    t.check(ticks == list(range(len(ticks))), f"counter skipped or repeated: {ticks[-10:]}")
    t.kill_restored(rp, s.pid)


if __name__ == "__main__":
    clitest.main(body)
