#!/usr/bin/env python3
"""A process with an open regular file in directory A is checkpointed (--kill)
and A is renamed to B.  cr_restart without --relocate fails naming the missing
path and leaves nothing behind; cr_restart --relocate A=B restores it with the
file reopened from B at the saved offset, and it goes on reading it."""
import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    t.require_root("cr_restart restores the original pid, which needs CAP_CHECKPOINT_RESTORE")
    a = t.mkdir("A")
    b = t.path("B")
    data_a = os.path.join(a, "data.txt")
    data_b = os.path.join(b, "data.txt")
    with open(data_a, "w") as f:
        for i in range(1, 21):
            f.write(f"line{i}\n")

    s = t.spawn([t.helper("hold_file"), data_a], name="hold")
    t.wait_output(s, lambda: "opened" in s.lines() and len(s.ticks()) >= 2, "opened + ticks")
    for want in ("line: line1", "line: line2"):
        os.kill(s.pid, signal.SIGUSR1)
        t.wait_output(s, lambda: want in s.lines(), want, timeout=5)
    fds = clitest.fd_targets(s.pid)
    t.require(data_a in fds.values(), f"subject does not have {data_a} open: {fds}")

    img = t.path("img")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    t.expect_death(s, signal.SIGKILL)
    os.rename(a, b)
    t.log(f"  renamed {a} -> {b}")
    lines_at_ckpt = s.lines()

    t.section("cr_restart without --relocate")
    before = set(t.live_descendants())
    r = t.run([t.cr_restart, img])
    t.check(r.rc not in (None, 0), f"restore with the file missing should fail: {r}")
    t.check(data_a in r.err, f"message should name the missing file {data_a}: {r}")
    t.check_no_new_processes(before, "failed restore")
    t.check_not_restored(s.pid, "hold_file", "failed restore")
    t.check("line: line3" not in s.lines(), "the failed restore read from the file")

    t.section(f"cr_restart --relocate {a}={b}")
    rp = t.start([t.cr_restart, "--relocate", f"{a}={b}", img])
    t.require_restored(rp, "hold_file", pid=s.pid,
                       failure=f"pid {s.pid} was not restored under cr_restart (pid {rp.pid})")
    last_tick = max(s.ticks() or [0])
    t.require(clitest.wait_for(lambda: len(s.ticks()) > 0 and s.ticks()[-1] >= last_tick + 2, 10),
              f"restored process is not ticking ({t.state_desc(s.pid)}; output tail {s.text()[-100:]!r})")
    fds = clitest.fd_targets(s.pid)
    t.check(data_b in fds.values(), f"restored process should have {data_b} open, has {fds}")
    t.check(data_a not in fds.values(), f"restored process still refers to {data_a}: {fds}")
    t.check(s.lines()[:len(lines_at_ckpt)] == lines_at_ckpt, "output before the checkpoint was modified")
    os.kill(s.pid, signal.SIGUSR1)
    got = clitest.wait_for(lambda: [l for l in s.lines() if l.startswith("line: ")][2:], 5)
    t.check(got and got[0] == "line: line3",
            f"after the restore the next line read should be line3 (offset kept), got {got}")
    os.kill(s.pid, signal.SIGUSR1)
    got = clitest.wait_for(lambda: [l for l in s.lines() if l.startswith("line: ")][3:], 5)
    t.check(got and got[0] == "line: line4", f"then line4, got {got}")
    time.sleep(0.1)
    t.kill_restored(rp, s.pid)


if __name__ == "__main__":
    clitest.main(body)
