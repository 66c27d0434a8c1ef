#!/usr/bin/env python3
"""cr_checkpoint --kill returns only once the killed process is gone, so that a restart
right after it finds the pid free (issue: an immediate cr_restart failed with EBUSY).

A 1.5 GiB subject (its exit takes a while: the kernel frees every page) runs under a
small parent that reaps it at once.  After `cr_checkpoint --kill` returns, the pid must
be gone, and an immediate cr_restart must bring the subject back under that pid.  A
subject whose parent (this test) does not reap it stays a zombie: cr_checkpoint says so,
naming the pid and the parent, and still returns."""
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

MIB = 1536
REAPER = ("import subprocess, sys, time\n"
          "p = subprocess.Popen(sys.argv[1:], stdout=open(sys.argv[0] + '.out', 'w'))\n"
          "print(p.pid, flush=True)\n"
          "p.wait()\n"
          "time.sleep(120)\n")


def body(t):
    t.require_root("the restored copy gets the original pid back")
    big_mem = t.helper("big_mem")
    for round_ in range(3):
        t.section(f"round {round_}: a parent that reaps at once")
        script = t.path(f"reaper{round_}.py")
        with open(script, "w") as f:
            f.write(REAPER)
        reaper = t.start(["python3", script, big_mem, MIB, 50], stdout=open(t.path(f"reaper{round_}.pid"), "w"))
        ok = clitest.wait_for(lambda: os.path.getsize(t.path(f"reaper{round_}.pid")) > 0, 10)
        t.require(ok, "the reaper did not print its child's pid")
        pid = int(clitest.read_text(t.path(f"reaper{round_}.pid")).split()[0])
        t.require(clitest.wait_for(lambda: "ready" in clitest.read_text(script + ".out"), 60),
                  "big_mem did not fill its memory")
        img = t.path(f"img{round_}")
        r = t.run([t.cr_checkpoint, "--kill", "-f", img, pid], timeout=120)
        gone = not os.path.exists(f"/proc/{pid}")
        t.require(r.rc == 0, f"checkpoint --kill failed: {r}")
        t.check(gone, f"round {round_}: process {pid} still exists when cr_checkpoint --kill has returned "
                      f"({clitest.read_text(f'/proc/{pid}/stat') if not gone else ''})")
        rp = t.start([t.cr_restart, img])
        st = t.wait_restored(rp, "big_mem", pid=pid)
        t.check(st is not None, f"round {round_}: an immediate restart did not bring {pid} back "
                               f"(cr_restart: {rp.poll()}, {clitest.Proc._read(rp._err_file)!r})")
        if st is not None:
            t.kill_restored(rp, pid, f"round {round_}")
        os.kill(reaper.pid, 9)

    t.section("a parent that does not reap: said, not waited for")
    s = t.spawn([big_mem, 16, 50], name="zombie")
    t.wait_output(s, lambda: "ready" in s.text(), "ready")
    start = time.monotonic()
    r = t.run([t.cr_checkpoint, "--kill", "-f", t.path("img.z"), s.pid], timeout=60)
    took = time.monotonic() - start
    t.check(r.rc == 0, f"checkpoint --kill of a child of ours failed: {r}")
    t.check(f"process {s.pid} was killed" in r.err and f"parent {os.getpid()}" in r.err,
            f"cr_checkpoint should say that {s.pid} stays a zombie of {os.getpid()}: {r}")
    t.check(took < 5, f"cr_checkpoint waited {took:.1f} s for a zombie only its parent can reap")
    s.wait(5)


if __name__ == "__main__":
    clitest.main(body)
