#!/usr/bin/env python3
"""python3 -m http.server (a listening TCP socket) on a free port of 127.0.0.1, serving
a file from a scratch directory: it answers, cr_checkpoint --kill saves it, the port is
free (nothing listens), cr_restart brings it back on the same port, and it answers the
same file again, twice (the restored listener accepts more than once)."""
import os
import socket
import sys
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import clitest  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{name}", timeout=5) as r:
        return r.status, r.read()


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def body(t):
    site = t.mkdir("site")
    content = os.urandom(8).hex().encode() * 100
    with open(os.path.join(site, "page.txt"), "wb") as f:
        f.write(content)
    port = free_port()
    srv = t.spawn([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", site, str(port)],
                  name="http")
    t.require(clitest.wait_for(lambda: listening(port), 10), f"http.server does not listen on {port}: {srv.text()}")
    t.check(fetch(port, "page.txt") == (200, content), "http.server did not serve the file before the checkpoint")

    t.section("checkpoint --kill: the port is free afterwards")
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img, srv.pid])
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    srv.wait(10)
    t.check(not listening(port), f"something still listens on {port} after --kill")

    t.section("cr_restart: the same port answers with the same file")
    rp = t.start([t.cr_restart, img])
    st = t.require_restored(rp, os.path.basename(sys.executable)[:15], "http.server was not restored", pid=srv.pid)
    for i in range(2):
        try:
            got = fetch(port, "page.txt")
        except OSError as e:
            got = e
        t.check(got == (200, content), f"request {i + 1} after restart: {got!r:.200}")
    t.kill_restored(rp, st.pid)


if __name__ == "__main__":
    clitest.main(body)
