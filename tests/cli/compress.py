#!/usr/bin/env python3
"""--compress=zstd, zstd:LEVEL and lz4: the image is smaller than the plain one of the
same process, cr_restart needs no option, and the restored process counts on; a flipped
byte inside a compressed section is rejected and nothing is left behind."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    for spec in ("zstd", "zstd:6", "lz4"):
        t.section(f"--compress={spec}")
        s = t.spin_print(name=f"spin-{spec.replace(':', '-')}")
        plain, packed = t.path(f"plain-{spec}"), t.path(f"packed-{spec}")
        r = t.run([t.cr_checkpoint, "-f", plain, s.pid])
        t.require(r.rc == 0, f"plain checkpoint failed: {r}")
        r = t.run([t.cr_checkpoint, f"--compress={spec}", "--kill", "-f", packed, s.pid])
        t.require(r.rc == 0, f"compressed checkpoint failed: {r}")
        s.wait(10)
        plain_size, packed_size = os.path.getsize(plain), os.path.getsize(packed)
        t.log(f"  image {plain_size} bytes plain, {packed_size} bytes with {spec}")
        t.check(packed_size < plain_size * 0.8, f"{spec}: image not smaller ({packed_size} vs {plain_size})")

        if spec == "zstd":
            with open(packed, "rb") as f:
                data = bytearray(f.read())
            secs = [(o, typ, n) for o, typ, n in clitest.image_sections(data) if typ == 11]
            t.require(secs, "no MemoryPagesCompressed section in the image")
            off, _, n = secs[0]
            data[off + 32 + n // 2] ^= 0x40
            bad = t.path("bad")
            with open(bad, "wb") as f:
                f.write(bytes(data))
            before = set(t.live_descendants())
            r = t.run([t.cr_restart, bad])
            t.check(r.rc not in (0, None), f"a flipped byte in a compressed section was accepted: {r}")
            t.check("checksum" in r.err.lower() or "corrupt" in r.err.lower(), f"message should say what is wrong: {r}")
            t.check_no_new_processes(before, "restart of a damaged compressed image")

        at_ckpt = s.counters()
        rp = t.start([t.cr_restart, packed])
        st = t.require_restored(rp, "spin_print", f"{spec}: the process was not restored", pid=s.pid)
        t.check_counter_resumed(s, at_ckpt, st.pid, label=spec)
        t.kill_restored(rp, st.pid, label=spec)


if __name__ == "__main__":
    clitest.main(body)
