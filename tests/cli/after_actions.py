#!/usr/bin/env python3
"""What happens to the target after a successful checkpoint: default keeps it
running; --kill kills it with SIGKILL, --term with SIGTERM; --stop leaves it
stopped; --cont resumes a stopped one; --signal 10 delivers SIGUSR1."""
import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    def ckpt(s, *args):
        img = t.path(f"img.{s.name}")
        r = t.run([t.cr_checkpoint, *args, "-f", img, s.pid])
        ok = t.check(r.rc == 0, f"cr_checkpoint {' '.join(args)} failed: {r}")
        t.check(os.path.isfile(img), f"cr_checkpoint {' '.join(args)}: no image written")
        return ok

    t.section("default: the target keeps running")
    s = t.spin_print(name="default")
    if ckpt(s):
        t.check_running(s, "default after-action")

    t.section("--kill")
    s = t.spin_print(name="kill")
    if ckpt(s, "--kill"):
        t.expect_death(s, signal.SIGKILL)

    t.section("--term")
    s = t.spin_print(name="term")
    if ckpt(s, "--term"):
        t.expect_death(s, signal.SIGTERM)

    t.section("--stop")
    s = t.spin_print(name="stop")
    if ckpt(s, "--stop"):
        st = clitest.wait_for(lambda: clitest.proc_state(s.pid) == "T", 3)
        t.check(st, f"--stop: target should be stopped (T), is {t.state_desc(s.pid)}")
        if st:
            n = s.last_counter()
            time.sleep(0.4)
            t.check(s.last_counter() == n, f"--stop: counter still moving ({n} -> {s.last_counter()})")
            t.check(clitest.tracer_pid(s.pid) == 0, "--stop: target still traced")
    t.kill_subject(s)

    t.section("--cont on a stopped target")
    s = t.spin_print(name="cont")
    os.kill(s.pid, signal.SIGSTOP)
    t.require(clitest.wait_for(lambda: clitest.proc_state(s.pid) == "T", 3),
              f"could not stop the subject: {t.state_desc(s.pid)}")
    if ckpt(s, "--cont"):
        t.check_running(s, "--cont after-action on a stopped target", settle=0.2)

    t.section("--signal 10 (SIGUSR1)")
    s = t.spin_print(name="usr1")
    t.require("usr1" not in s.lines(), "subject printed usr1 before any signal")
    if ckpt(s, "--signal", "10"):
        t.check(clitest.wait_for(lambda: "usr1" in s.lines(), 3),
                f"--signal 10: the target did not receive SIGUSR1 (output tail {s.text()[-80:]!r})")
        t.check_running(s, "--signal 10 after-action")


if __name__ == "__main__":
    clitest.main(body)
