#!/usr/bin/env python3
"""A process holding an O_TMPFILE file (nameless from the start; its open flags carry
O_TMPFILE) is checkpointed and killed; the restart recreates the file with its contents
and offset (it used to fail: "cannot reopen ...: Not a directory", from reopening with
O_TMPFILE's O_DIRECTORY bit), and the process goes on reading and appending to it."""
import os
import signal
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    t.require_root("cr_restart restores the original pid, which needs CAP_CHECKPOINT_RESTORE")
    d = t.mkdir("dir")
    s = t.spawn([t.helper("tmpfile_hold"), d], name="tmpfile")
    want = f"payload-{s.pid}"
    t.wait_output(s, lambda: len([l for l in s.lines() if l.startswith("tick ")]) >= 3, "three ticks")
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    t.expect_death(s, signal.SIGKILL)
    before = len(s.lines())

    rp = t.start([t.cr_restart, img])
    t.require_restored(rp, "tmpfile_hold", pid=s.pid,
                       failure=f"pid {s.pid} was not restored under cr_restart (pid {rp.pid})")
    t.require(clitest.wait_for(lambda: len(s.lines()) >= before + 2, 10),
              f"restored process prints nothing ({t.state_desc(s.pid)}; tail {s.text()[-120:]!r})")
    after = [l for l in s.lines()[before:] if l.startswith("tick ")]
    t.check(after and all(l.split(" ", 2)[2] == want for l in after),
            f"restored file should read {want!r}: {after[:3]}")
    os.kill(s.pid, signal.SIGUSR1)
    t.require(clitest.wait_for(lambda: any(l.endswith(want + "+") for l in s.lines()), 5),
              f"append through the restored offset did not land after the payload: {s.text()[-120:]!r}")
    t.kill_restored(rp, s.pid)


if __name__ == "__main__":
    clitest.main(body)
