#!/usr/bin/env python3
"""The busy-lock name of a process (abstract socket "\\0crest-busy/PID") can be bound by
any user. uid 65534 binding it, the old way (a datagram socket) or crest's way (a
listening seqpacket socket), must not make root's checkpoint of a root-owned process
fail; a name held by root (a checkpoint in progress) still does: EBUSY, exit 16."""
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

HOLDER = r"""
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[2] == "dgram" else socket.SOCK_SEQPACKET
s = socket.socket(socket.AF_UNIX, kind)
s.bind(b"\0crest-busy/" + sys.argv[1].encode())
if kind == socket.SOCK_SEQPACKET:
    s.listen(16)
print("bound", flush=True)
sys.stdin.read()
"""


def hold(t, pid, kind, user):
    argv = ["python3", "-c", HOLDER, str(pid), kind]
    if user:
        argv = clitest.SETPRIV + argv
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    if line != "bound":
        p.kill()
        p.wait()
        t.fail_now(f"could not bind the busy-lock name of {pid} ({kind}, user={user})")
    return p


def release(p):
    p.stdin.close()
    p.wait(5)


def body(t):
    t.require_root("the target is root's; the squatter is uid 65534")
    s = t.spin_print()
    img = t.path("img")
    for kind in ("dgram", "seqpacket"):
        t.section(f"uid 65534 holds crest-busy/{s.pid} ({kind}): root's checkpoint still works")
        h = hold(t, s.pid, kind, user=True)
        try:
            r = t.run([t.cr_checkpoint, "-f", img, s.pid])
            t.check(r.rc == 0, f"checkpoint with the name squatted by uid 65534 ({kind}) failed: {r}")
        finally:
            release(h)
        t.check_running(s, f"the target after the checkpoint ({kind} squatter)")

    t.section("root holds the name (as a checkpoint in progress would): EBUSY")
    h = hold(t, s.pid, "seqpacket", user=False)
    try:
        r = t.run([t.cr_checkpoint, "-f", img, s.pid])
        t.check(r.rc == 16 and str(s.pid) in r.err, f"expected EBUSY (16) naming {s.pid}: {r}")
    finally:
        release(h)
    t.check_running(s, "the target after the refused checkpoint")


if __name__ == "__main__":
    clitest.main(body)
