#!/usr/bin/env python3
"""Pages the process itself cannot read come back: 4 pages of data made PROT_NONE,
and 4 made read-only, are saved (process_vm_readv cannot read the PROT_NONE ones:
the dump falls back to /proc/PID/mem) and restored (process_vm_writev cannot write
either kind: the restore falls back too). After a restart, the process makes them
readable again on SIGUSR1 and compares them with what it wrote."""
import os
import signal
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

SUBJECT = r"""
import ctypes, mmap, os, signal, sys, time
d = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
page = mmap.PAGESIZE
size = 8 * page
addr = libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
want = bytes((i * 31 + i // 4096) % 251 + 1 for i in range(size))
ctypes.memmove(addr, want, size)
assert libc.mprotect(addr, 4 * page, 0) == 0                             # PROT_NONE
assert libc.mprotect(addr + 4 * page, 4 * page, mmap.PROT_READ) == 0     # read-only
flag = []
signal.signal(signal.SIGUSR1, lambda *a: flag.append(1))
open(os.path.join(d, "ready"), "w").close()
while True:
    if flag:
        flag.clear()
        assert libc.mprotect(addr, 4 * page, mmap.PROT_READ) == 0
        got = ctypes.string_at(addr, size)
        assert libc.mprotect(addr, 4 * page, 0) == 0
        with open(os.path.join(d, "verdict"), "a") as f:
            f.write("ok\n" if got == want else "bad\n")
    time.sleep(0.05)
"""


def body(t):
    t.require_root("cr_restart restores the original pid, which needs CAP_CHECKPOINT_RESTORE")
    d = t.mkdir("state")
    s = t.spawn([sys.executable, "-c", SUBJECT, d], name="prot")
    t.require(clitest.wait_for(lambda: os.path.exists(os.path.join(d, "ready")), 30), "the subject did not get ready")
    img = t.path("img")
    t.reap_in_background(s)
    r = t.run([t.cr_checkpoint, "--kill", "-f", img, s.pid], timeout=60)
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    t.require(t.wait_pid_free(s.pid), "the killed subject's pid is not free")
    rp = t.start([t.cr_restart, img])
    st = t.require_restored(rp, "python3", "restart", pid=s.pid)
    os.kill(st.pid, signal.SIGUSR1)
    v = os.path.join(d, "verdict")
    t.check(clitest.wait_for(lambda: clitest.read_text(v), 15), "the restored process gave no verdict")
    t.check(clitest.read_text(v) == "ok\n", f"PROT_NONE / read-only pages differ after the restart: {clitest.read_text(v)!r}")
    t.kill_restored(rp, st.pid, "restored")


if __name__ == "__main__":
    clitest.main(body)
