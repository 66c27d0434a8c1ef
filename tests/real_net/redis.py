#!/usr/bin/env python3
"""A redis-server with data and a client connected to it over TCP, both in one process
tree: a small client (this file's CLIENT, the tree's root) starts redis-server on a free
port of 127.0.0.1 in a scratch directory, connects, SETs a key, and then answers queries
put in a file by sending GET and CLIENT ID over that same connection. cr_checkpoint
--tree --kill saves the tree (the connection with TCP_REPAIR: root); cr_restart brings
it back; the client's next query over the same connection must see the value and the
same client id (the server did not see a new connection). Skipped (77) where
redis-server is not installed."""
import os
import shutil
import socket
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import clitest  # noqa: E402

CLIENT = r"""
import os, socket, subprocess, sys, time
port, work = int(sys.argv[1]), sys.argv[2]
srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", work,
                        "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", work + "/redis.log"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(200):
    try:
        c = socket.create_connection(("127.0.0.1", port)); break
    except OSError:
        time.sleep(0.05)
def call(*args):
    c.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    data = b""
    while not data.endswith(b"\r\n"):
        data += c.recv(4096)
    if data.startswith(b"$") and not data.startswith(b"$-1"):
        n = int(data[1:data.index(b"\r\n")])
        while len(data) < data.index(b"\r\n") + 2 + n + 2:
            data += c.recv(4096)
    return data
print(call(b"SET", b"crest-key", b"value-before-checkpoint").decode().strip(), flush=True)
print("ready", flush=True)
q = os.path.join(work, "query")
while True:
    if os.path.exists(q):
        os.unlink(q)
        get = call(b"GET", b"crest-key").decode().split()[-1]
        cid = call(b"CLIENT", b"ID").decode().strip()
        with open(os.path.join(work, "answer.tmp"), "w") as f:
            f.write("%s %s\n" % (get, cid))
        os.rename(os.path.join(work, "answer.tmp"), os.path.join(work, "answer"))
    time.sleep(0.05)
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(t, work):
    answer = os.path.join(work, "answer")
    if os.path.exists(answer):
        os.unlink(answer)
    open(os.path.join(work, "query"), "w").close()
    if not clitest.wait_for(lambda: os.path.exists(answer), 10):
        return None
    with open(answer) as f:
        return f.read().split()


def body(t):
    work = t.mkdir("redis")
    port = free_port()
    cl = t.spawn([sys.executable, "-c", CLIENT, str(port), work], name="client")
    t.wait_output(cl, lambda: "ready" in cl.lines(), "the client connected and SET its key", timeout=20)
    servers = clitest.children_of(cl.pid)
    t.require(len(servers) == 1, f"expected redis-server as the client's only child: {servers}")
    server = servers[0]
    t.track_pid(server.pid, server.comm)
    before = ask(t, work)
    t.require(before is not None and before[0] == "value-before-checkpoint", f"query before the checkpoint: {before}")

    t.section("checkpoint --tree --kill of the client and its redis-server")
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "--tree", "--kill", "-f", img, cl.pid], timeout=60)
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    cl.wait(10)
    t.reap_zombie_orphans()  # redis-server, orphaned to us (a subreaper) as it died
    t.require(t.wait_pid_free(server.pid), f"redis-server {server.pid} is still there after --kill")

    t.section("cr_restart: the same connection answers, with the same client id")
    rp = t.start([t.cr_restart, img])
    st = t.require_restored(rp, os.path.basename(sys.executable)[:15], "the client was not restored", pid=cl.pid)
    after = ask(t, work)
    t.check(after == before, f"after restart the query over the same connection gave {after}, before {before}")
    t.kill_restored(rp, st.pid)


if __name__ == "__main__":
    if not shutil.which("redis-server"):
        print("SKIP: redis-server is not installed (scripts/deps installs redis-server)")
        sys.exit(77)
    clitest.main(body)
