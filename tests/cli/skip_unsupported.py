#!/usr/bin/env python3
"""A TCP listener with a connection not yet accepted (fd 7) cannot be restored: cr_checkpoint refuses the process,
naming pid and fd, and leaves it running; with --skip-unsupported it warns,
writes the image, and after cr_restart the process goes on counting with fd 7
closed (it prints "fd7 closed" once it finds it gone)."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

SUBJECT = r"""
import fcntl, os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
# A connection not yet accepted: crest refuses such a listener (its client end at fd 9).
c = socket.create_connection(s.getsockname())
os.dup2(c.fileno(), 9)
c.close()
os.dup2(s.fileno(), 7)
s.close()
reported = False
i = 0
while True:
    os.write(1, b"%d\n" % i)
    i += 1
    if not reported:
        try:
            fcntl.fcntl(7, fcntl.F_GETFD)
        except OSError:
            os.write(1, b"fd7 closed\n")
            reported = True
    time.sleep(0.05)
"""


def body(t):
    s = t.spawn([sys.executable, "-c", SUBJECT], name="tcp")
    t.wait_output(s, lambda: len(s.counters()) >= 3, "3 counter lines")
    img = t.path("img")

    t.section("without --skip-unsupported: refused, process untouched")
    r = t.run([t.cr_checkpoint, "-f", img, s.pid])
    t.check(r.rc != 0, f"checkpoint of a process with a TCP socket should fail: {r}")
    t.check(str(s.pid) in r.err and "fd 7" in r.err, f"message should name pid {s.pid} and fd 7: {r}")
    t.check(not os.path.exists(img), "an image was written")
    t.check_running(s, "process after the refused checkpoint")

    t.section("with --skip-unsupported: a warning, an image, and the process is killed")
    r = t.run([t.cr_checkpoint, "--skip-unsupported", "--kill", "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint with --skip-unsupported failed: {r}")
    t.check("warning" in r.err and "fd 7" in r.err, f"expected a warning naming fd 7: {r}")
    s.wait(10)
    at_ckpt = s.counters()

    t.section("cr_restart: counting goes on, fd 7 is closed")
    rp = t.start([t.cr_restart, img])
    st = t.require_restored(rp, os.path.basename(sys.executable)[:15], "the process was not restored", pid=s.pid)
    t.check_counter_resumed(s, at_ckpt, st.pid)
    t.check(clitest.wait_for(lambda: "fd7 closed" in s.lines(), 5), f"fd 7 still open after restart: {s.lines()[-3:]}")
    t.kill_restored(rp, st.pid)


if __name__ == "__main__":
    clitest.main(body)
