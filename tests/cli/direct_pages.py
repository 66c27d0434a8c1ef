#!/usr/bin/env python3
"""The direct page path (src/checkpoint/direct_pages.cc: the process vmsplices its pages
into pipes, crest splices them into the image, then drops zero pages and checksums them
in the page cache) gives the same pages as the buffered path, leaves the process as it
was, and restores. The subject has 6 MiB of random bytes, 4 MiB of pages written with
zeros, and 6 MiB more random bytes in one private mapping. Checked: the checkpoint (the
process runs on) leaves its descriptors and its mappings as they were (no pipe, no
injection area left); the image's page runs of that mapping equal, page for page, those of a checkpoint
with CREST_DIRECT_PAGES=0 (the buffered path), and neither holds the zero-written pages;
cr_info --verify accepts it; a --kill checkpoint by the direct path restarts (its page
sections mapped from the image by cr_restart, which the restored process does not map) and
the restored process finds its bytes (it recomputes their digest on SIGUSR1)."""
import os
import signal
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

MIB = 1 << 20
SUBJECT = r"""
import ctypes, hashlib, mmap, os, random, signal, sys, time
d = sys.argv[1]
size = 16 << 20
m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
rng = random.Random(7)
m[0:6 << 20] = rng.getrandbits(8 * (6 << 20)).to_bytes(6 << 20, "little")
m[6 << 20:10 << 20] = bytes(4 << 20)          # real pages that hold zeros
m[10 << 20:size] = rng.getrandbits(8 * (6 << 20)).to_bytes(6 << 20, "little")
want = hashlib.sha256(m).hexdigest()
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
flag = []
signal.signal(signal.SIGUSR1, lambda *a: flag.append(1))
with open(os.path.join(d, "ready"), "w") as f:
    f.write("%x" % addr)
while True:
    if flag:
        flag.clear()
        with open(os.path.join(d, "verdict"), "a") as f:
            f.write("ok\n" if hashlib.sha256(m).hexdigest() == want else "bad\n")
    time.sleep(0.05)
"""


def page_runs(path):
    """{page address: bytes} of the MemoryPages sections of an image."""
    with open(path, "rb") as f:
        data = f.read()
    pages = {}
    for off, typ, length in clitest.image_sections(data):
        if typ != 3:
            continue
        at, end = off + 32, off + 32 + length
        while at < end:
            addr, n = struct.unpack_from("<QQ", data, at)
            at += 16
            for i in range(n):
                pages[addr + i * 4096] = data[at + i * 4096:at + (i + 1) * 4096]
            at += n * 4096
    return pages


def checkpoint(t, pid, img, direct, kill=False):
    saved = os.environ.get("CREST_DIRECT_PAGES")
    os.environ["CREST_DIRECT_PAGES"] = "1" if direct else "0"
    try:
        return t.run([t.cr_checkpoint] + (["--kill"] if kill else []) + ["-f", img, pid], timeout=120)
    finally:
        if saved is None:
            del os.environ["CREST_DIRECT_PAGES"]
        else:
            os.environ["CREST_DIRECT_PAGES"] = saved


def body(t):
    t.require_root("cr_restart restores the original pid, which needs CAP_CHECKPOINT_RESTORE")
    d = t.mkdir("state")
    s = t.spawn([sys.executable, "-c", SUBJECT, d], name="direct")
    ready = os.path.join(d, "ready")
    t.require(clitest.wait_for(lambda: clitest.read_text(ready), 60), "the subject did not get ready")
    base = int(clitest.read_text(ready), 16)
    fds = clitest.fd_targets(s.pid)
    maps = clitest.read_text(f"/proc/{s.pid}/maps")

    t.section("direct and buffered images hold the same pages")
    direct, buffered = t.path("direct.img"), t.path("buffered.img")
    r = checkpoint(t, s.pid, direct, True)
    t.require(r.rc == 0, f"checkpoint (direct) failed: {r}")
    t.check(clitest.fd_targets(s.pid) == fds, f"descriptors changed: {fds} -> {clitest.fd_targets(s.pid)}")
    t.check(clitest.read_text(f"/proc/{s.pid}/maps") == maps, "the mappings changed across the checkpoint")
    r = checkpoint(t, s.pid, buffered, False)
    t.require(r.rc == 0, f"checkpoint (buffered) failed: {r}")
    # The subject's 16 MiB (the rest of the process, its heap and stack, ran between the two)
    mine = lambda pages: {p: v for p, v in pages.items() if base <= p < base + 16 * MIB}  # noqa: E731
    a, b = mine(page_runs(direct)), mine(page_runs(buffered))
    t.check(a == b, f"page runs differ: {len(a)} pages direct, {len(b)} buffered, "
                    f"{len(set(a) ^ set(b))} addresses in one only")
    ours = list(a)
    zeros = [p for p in ours if base + 6 * MIB <= p < base + 10 * MIB]
    t.check(len(ours) == 12 * MIB // 4096 and not zeros,
            f"{len(ours)} pages of the 16 MiB mapping saved ({len(zeros)} zero-written), expected 3072 and none")
    r = t.run([t.tool("cr_info"), "--verify", direct], timeout=60)
    t.check(r.rc == 0, f"cr_info --verify refuses the direct image: {r}")

    t.section("a --kill checkpoint by the direct path restarts with the same bytes")
    img = t.path("kill.img")
    t.reap_in_background(s)
    r = checkpoint(t, s.pid, img, True, kill=True)
    t.require(r.rc == 0, f"checkpoint --kill failed: {r}")
    t.require(t.wait_pid_free(s.pid), "the killed subject's pid is not free")
    rp = t.start([t.cr_restart, img])
    st = t.require_restored(rp, "python3", "restart", pid=s.pid)
    # Its pages came from a mapping of the image (image_reader.h), crest's, never its own.
    t.check(img not in clitest.read_text(f"/proc/{st.pid}/maps"), "the restored process maps the image file")
    os.kill(st.pid, signal.SIGUSR1)
    v = os.path.join(d, "verdict")
    t.check(clitest.wait_for(lambda: clitest.read_text(v), 30), "the restored process gave no verdict")
    t.check(clitest.read_text(v) == "ok\n", f"the restored bytes differ: {clitest.read_text(v)!r}")
    t.kill_restored(rp, st.pid, "restored")


if __name__ == "__main__":
    clitest.main(body)
