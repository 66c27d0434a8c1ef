#!/usr/bin/env python3
"""cr_checkpoint --tcp-established / cr_restart --tcp-established (root): a process
connected over TCP to a server outside the checkpoint (this test, on 127.0.0.1) echoes
what it receives. It is checkpointed with --tcp-established --kill while the server keeps
its end open (the peer sees no FIN, no reset: the socket was in repair mode); cr_restart
without the option refuses the image naming the connection (95); with it, the server's
next line comes back echoed over the same connection. (The server sends nothing while
the process is down: with no socket at that address, the kernel would answer with a
reset; docs/design.md.)"""
import os
import socket
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

SUBJECT = r"""
import os, socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
os.write(1, b"connected\n")
buf = b""
while True:
    data = c.recv(4096)
    if not data:
        os.write(1, b"eof\n")
        break
    buf += data
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        c.sendall(b"echo:" + line + b"\n")
        os.write(1, line + b"\n")
"""


def recv_line(sock):
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def body(t):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    s = t.spawn([sys.executable, "-c", SUBJECT, str(srv.getsockname()[1])], name="echo")
    conn, _ = srv.accept()
    conn.settimeout(10)
    conn.sendall(b"one\n")
    t.require(recv_line(conn) == b"echo:one\n", "no echo before the checkpoint")

    img = t.path("img")
    r = t.run([t.cr_checkpoint, "-f", img, s.pid])
    t.check(r.rc == 95 and "--tcp-established" in r.err, f"without --tcp-established: refused, naming the option: {r}")
    r = t.run([t.cr_checkpoint, "--tcp-established", "--kill", "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint --tcp-established failed: {r}")
    s.wait(10)

    r = t.run([t.cr_restart, img])
    t.check(r.rc == 95 and "--tcp-established" in r.err, f"cr_restart without --tcp-established: refused by name: {r}")
    rp = t.start([t.cr_restart, "--tcp-established", img])
    st = t.require_restored(rp, os.path.basename(sys.executable)[:15], "not restored", pid=s.pid)
    conn.sendall(b"after\n")
    got = recv_line(conn)
    t.check(got == b"echo:after\n", f"echo over the same connection after restart: {got!r}")
    t.check(s.lines() == ["connected", "one", "after"], f"the process's lines: {s.lines()}")
    t.kill_restored(rp, st.pid)
    conn.close()
    srv.close()


if __name__ == "__main__":
    clitest.main(body)
