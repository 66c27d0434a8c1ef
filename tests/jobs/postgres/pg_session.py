#!/usr/bin/python3
"""The checkpointed job of the PostgreSQL acceptance test (postgres_session.py): starts a
cluster with pg_ctl (as a child subreaper, so the postmaster becomes its child and the
whole cluster is in its tree), opens one session over the cluster's unix socket, makes a
table, then answers commands read from stdin, one per line, on stdout:
  session SQL   run SQL over the session opened at the start
  new SQL       run SQL over a new connection (closed after)
  stop          pg_ctl stop, then exit
Each answer is one line: the rows' fields joined by "," and rows by ";", or "ERROR: ...".
Usage: pg_session.py BINDIR DATADIR PORT"""
import ctypes
import os
import socket
import struct
import subprocess
import sys


class Session:
    """A PostgreSQL connection over a unix socket (protocol 3.0, trust authentication,
    simple queries)."""

    def __init__(self, sockdir, port):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(os.path.join(sockdir, ".s.PGSQL.%d" % port))
        body = struct.pack("!i", 196608) + b"user\0postgres\0database\0postgres\0\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        self.wait_ready()

    def message(self):
        head = self.recv_exact(5)
        kind, length = head[:1], struct.unpack("!i", head[1:])[0]
        return kind, self.recv_exact(length - 4)

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("connection closed by the server")
            data += chunk
        return data

    def wait_ready(self):
        rows, error = [], None
        while True:
            kind, body = self.message()
            if kind == b"Z":
                return rows, error
            if kind == b"E":
                fields = dict((f[:1], f[1:].decode()) for f in body.split(b"\0") if f)
                error = fields.get(b"M", "?")
            elif kind == b"D":
                count = struct.unpack("!h", body[:2])[0]
                at, row = 2, []
                for _ in range(count):
                    n = struct.unpack("!i", body[at:at + 4])[0]
                    at += 4
                    row.append("NULL" if n < 0 else body[at:at + n].decode())
                    at += max(n, 0)
                rows.append(row)

    def query(self, sql):
        body = sql.encode() + b"\0"
        self.sock.sendall(b"Q" + struct.pack("!i", len(body) + 4) + body)
        rows, error = self.wait_ready()
        return "ERROR: " + error if error else ";".join(",".join(r) for r in rows)

    def close(self):
        self.sock.sendall(b"X" + struct.pack("!i", 4))
        self.sock.close()


def main():
    bindir, data, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: the postmaster becomes ours
    sockdir = os.path.dirname(data)
    subprocess.run([os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(sockdir, "pg.log"), "-w", "-o",
                    "-k %s -p %d -c listen_addresses=''" % (sockdir, port), "start"],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    session = Session(sockdir, port)
    print(session.query("create table t (k int primary key, v text)"), flush=True)
    print(session.query("insert into t select i, 'row ' || i from generate_series(1, 1000) i"), flush=True)
    print("READY", flush=True)
    for line in sys.stdin:
        cmd, _, sql = line.strip().partition(" ")
        try:
            if cmd == "session":
                print(session.query(sql), flush=True)
            elif cmd == "new":
                s = Session(sockdir, port)
                print(s.query(sql), flush=True)
                s.close()
            elif cmd == "stop":
                session.close()
                r = subprocess.run([os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                print("STOPPED %d" % r.returncode, flush=True)
                return 0
        except Exception as e:  # the answer names what failed
            print("ERROR: %s: %s" % (type(e).__name__, e), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
