#!/usr/bin/env python3
"""cr_restart's signal options: --stop (and its alias --freeze) and the hidden
--early-stop leave the restored process stopped; -S 10 delivers SIGUSR1 once it runs;
--early-abrt kills it with SIGABRT right away and cr_restart mirrors that, as it does
for --kill and -S 9 (SIGKILL, sent once the process is detached); --run after
another signal option cancels it (the last one wins)."""
import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    t.require_root("the restored copy gets the original pid back")
    s = t.spin_print(name="sig")
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    s.wait(5)

    for opt in ("--stop", "--freeze", "--early-stop"):
        t.section(f"cr_restart {opt}: stopped once restored")
        rp = t.start([t.cr_restart, opt, img])
        t.require_restored(rp, "spin_print", pid=s.pid, failure=f"{opt}: no restore")
        st = clitest.wait_for(lambda: clitest.is_stopped(s.pid), 3)
        t.check(st, f"{opt}: the restored process should be stopped, is {t.state_desc(s.pid)}")
        if st:
            n = s.last_counter()
            time.sleep(0.3)
            t.check(s.last_counter() == n, f"{opt}: the counter still moves")
        t.kill_restored(rp, s.pid, opt)

    t.section("cr_restart -S 10: SIGUSR1 once it runs")
    before = s.lines().count("usr1")
    rp = t.start([t.cr_restart, "-S", "10", img])
    t.require_restored(rp, "spin_print", pid=s.pid, failure="-S 10: no restore")
    t.check(clitest.wait_for(lambda: s.lines().count("usr1") > before, 3), "-S 10: the restored process got no SIGUSR1")
    t.kill_restored(rp, s.pid, "-S 10")

    t.section("cr_restart --stop --run: the last signal option wins")
    rp = t.start([t.cr_restart, "--stop", "--run", img])
    t.require_restored(rp, "spin_print", pid=s.pid, failure="--stop --run: no restore")
    t.check_running(s, "--stop --run", settle=0.2)
    t.kill_restored(rp, s.pid, "--stop --run")

    for opt in (["--kill"], ["-S", "9"]):
        what = " ".join(opt)
        t.section(f"cr_restart {what}: restored, then killed by SIGKILL, mirrored by cr_restart")
        r = t.run([t.cr_restart] + opt + [img], timeout=20)
        t.check(r.rc == -signal.SIGKILL, f"{what}: cr_restart should die of SIGKILL (the restored process's death): {r}")
        t.check("failed" not in r.err, f"{what}: cr_restart reported a failure: {r.err!r}")
        t.check(t.wait_pid_free(s.pid), f"{what}: the restored process {s.pid} still runs")

    t.section("cr_restart --early-abrt: killed by SIGABRT, mirrored by cr_restart")
    r = t.run([t.cr_restart, "--early-abrt", img], timeout=20)
    t.check(r.rc == -signal.SIGABRT, f"--early-abrt: cr_restart should die of SIGABRT: {r}")


if __name__ == "__main__":
    clitest.main(body)
