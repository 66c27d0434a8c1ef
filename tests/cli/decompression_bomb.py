#!/usr/bin/env python3
"""A small image whose compressed page sections claim huge sizes (each rewritten to
claim 1 GiB, checksums made right again) must not drive cr_restart to gigabytes of
memory: the claim is refused before anything is allocated, naming the section's
process, exit 22 (EINVAL); cr_restart's peak RSS (getrusage of the child) stays small.
Both codecs (the unit test Compression.RefusesClaimsBeyondWhatTheFrameCanProduce covers
claims within a section's size but beyond what the frame can produce)."""
import os
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

COMPRESSED = 11
MAX_RSS_KIB = 64 * 1024


def with_claims(data, claim):
    """The image with every MemoryPagesCompressed section claiming `claim` raw bytes."""
    data = bytearray(data)
    n = 0
    for off, typ, length in clitest.image_sections(data):
        if typ != COMPRESSED:
            continue
        n += 1
        payload = off + 32
        struct.pack_into("<Q", data, payload + 8, claim)
        struct.pack_into("<Q", data, off + 24, clitest.xxh3_64(data[payload:payload + length]))
        struct.pack_into("<I", data, off + 12, 0)
        struct.pack_into("<I", data, off + 12, clitest.xxh3_64(data[off:off + 32]) & 0xFFFFFFFF)
    return clitest.reseal_image(data), n


def restart_measured(t, path):
    """cr_restart path: (exit code or -signal, stderr, peak RSS in KiB)."""
    err_path = path + ".err"
    with open(err_path, "wb") as err:
        p = subprocess.Popen([t.cr_restart, path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    with open(err_path) as f:
        return p.returncode, f.read(), usage.ru_maxrss


def body(t):
    t.require_root("the control restore gets the original pid back")
    for codec in ("zstd", "lz4"):
        t.section(f"{codec}: every compressed section claims 1 GiB")
        s = t.spin_print(name=f"spin_{codec}")
        img = t.path(f"{codec}.img")
        r = t.run([t.cr_checkpoint, f"--compress={codec}", "-f", img, s.pid])
        t.require(r.rc == 0, f"checkpoint --compress={codec} failed: {r}")
        t.kill_subject(s)
        with open(img, "rb") as f:
            data = f.read()
        for claim, label in [(1 << 30, "1 GiB")]:
            bomb, n = with_claims(data, claim)
            t.require(n > 0, f"the {codec} image has no compressed page section")
            path = t.path(f"{codec}.{claim}.bomb")
            with open(path, "wb") as f:
                f.write(bomb)
            t.log(f"  {len(bomb)} bytes, {n} sections claiming {label} each")
            before = set(t.live_descendants())
            rc, err, rss = restart_measured(t, path)
            t.log(f"  cr_restart: exit {rc}, peak RSS {rss} KiB: {err.strip()}")
            t.check(rc == 22, f"{codec}, {label}: expected exit 22 (EINVAL), got {rc}: {err!r}")
            t.check("claims" in err and f"MemoryPagesCompressed section of process {s.pid}" in err,
                    f"{codec}, {label}: the error does not name the section and its claim: {err!r}")
            t.check(rss < MAX_RSS_KIB, f"{codec}, {label}: cr_restart reached {rss} KiB of RSS")
            t.check_no_new_processes(before, f"{codec}, {label}")
            t.check_not_restored(s.pid, "spin_print", f"{codec}, {label}")
        clitest.expect_restores(t, img, s, f"control: the intact {codec} image restores")


if __name__ == "__main__":
    clitest.main(body)
