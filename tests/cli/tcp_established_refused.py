#!/usr/bin/env python3
"""Established TCP connections are restored with TCP_REPAIR, which needs CAP_NET_ADMIN:
as uid 65534 a process holding one (both ends in the process, on 127.0.0.1) is refused
by name (exit 95, pid, fd, "CAP_NET_ADMIN") and left running, its connection still
working; with --skip-unsupported both ends are left out with a warning. As root, a
connection whose peer is outside the checkpoint is refused naming it."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

SUBJECT = r"""
import os, socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
c = socket.create_connection(l.getsockname())
s, _ = l.accept()
os.dup2(c.fileno(), 7); os.dup2(s.fileno(), 8)
c.close(); s.close(); l.close()
c = socket.socket(fileno=7); s = socket.socket(fileno=8)
i = 0
while True:
    c.sendall(b"x")
    ok = s.recv(1) == b"x"
    os.write(1, b"%d %s\n" % (i, b"ok" if ok else b"BAD"))
    i += 1
    time.sleep(0.05)
"""

# Only the server end is in the checkpointed process; the client is its parent's.
OUTSIDE = r"""
import os, socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
c = socket.create_connection(l.getsockname())
s, _ = l.accept()
if os.fork() == 0:
    c.close(); l.close()
    os.dup2(s.fileno(), 9)
    s.close()
    i = 0
    while True:
        os.write(1, b"%d\n" % i)
        i += 1
        time.sleep(0.05)
s.close()
while True:
    time.sleep(1)
"""


def body(t):
    t.section("uid 65534: refused naming CAP_NET_ADMIN, the process runs on")
    s = t.spawn(["/usr/bin/python3", "-c", SUBJECT], name="pair", user=True)  # not a python under /root
    t.wait_output(s, lambda: len(s.lines()) >= 3, "3 lines")
    d = t.mkdir("nobody")
    os.chown(d, clitest.NOBODY_UID, clitest.NOBODY_GID)
    img = os.path.join(d, "img")
    r = t.run([t.cr_checkpoint, "-f", img, s.pid], user=True)
    t.check(r.rc == 95, f"checkpoint as uid 65534 should fail with 95: {r}")
    t.check(str(s.pid) in r.err and "fd 7" in r.err and "CAP_NET_ADMIN" in r.err,
            f"the refusal should name pid {s.pid}, fd 7 and CAP_NET_ADMIN: {r}")
    t.check(not os.path.exists(img), "an image was written")
    n = len(s.lines())
    t.check(clitest.wait_for(lambda: len(s.lines()) >= n + 3, 5), "the process stopped after the refusal")
    t.check(all(l.endswith(" ok") for l in s.lines()), f"the connection broke: {s.lines()[-3:]}")
    r = t.run([t.cr_checkpoint, "--skip-unsupported", "-f", img, s.pid], user=True)
    t.check(r.rc == 0 and "fd 7" in r.err and "fd 8" in r.err, f"--skip-unsupported should warn of fds 7 and 8: {r}")
    t.kill_subject(s)

    t.section("root: a connection to a peer outside the checkpoint is refused by name")
    o = t.spawn([sys.executable, "-c", OUTSIDE], name="outside")
    t.wait_output(o, lambda: len(o.counters()) >= 3, "3 counter lines")
    child = [p for p in clitest.children_of(o.pid)]
    t.require(len(child) == 1, f"expected one child of {o.pid}: {child}")
    cpid = child[0].pid
    t.track_pid(cpid, child[0].comm)
    r = t.run([t.cr_checkpoint, "-f", t.path("img2"), cpid])
    t.check(r.rc == 95 and "fd 9" in r.err and "outside the checkpoint" in r.err,
            f"expected a refusal naming fd 9 and its peer outside: {r}")
    n = len(o.counters())
    t.check(clitest.wait_for(lambda: len(o.counters()) >= n + 3, 5), "the child stopped after the refusal")
    os.kill(cpid, 9)
    t.kill_subject(o)


if __name__ == "__main__":
    clitest.main(body)
