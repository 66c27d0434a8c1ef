#!/usr/bin/env python3
"""The pages of a tree's processes go through one pipeline, read by one or more
threads (docs/image-format.md: page sections of different processes may
interleave). A parent and a child, each with 24 MiB of its own random bytes, are
checkpointed plain with one reader and with --compress=zstd with two readers
(CREST_DUMP_READERS; by default one per CPU but the writer's); in both images every
page section comes after all the metadata and belongs to one of the two processes,
both have pages, and the restarted tree (from the two-reader compressed image) has
each process's own bytes back (each recomputes its digest on SIGUSR1)."""
import os
import signal
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

PAGE_TYPES = (3, 11)  # MemoryPages, MemoryPagesCompressed

# Each process: its own 24 MiB, a digest of it in DIR/digest.<role>, and on SIGUSR1
# "ok" or "bad" appended to DIR/verdict.<role> after recomputing the digest.
SUBJECT = r"""
import hashlib, os, signal, sys, time
d = sys.argv[1]
def run(role, seed):
    import random
    rng = random.Random(seed)
    buf = bytearray(rng.getrandbits(8 * (24 << 20)).to_bytes(24 << 20, "little"))
    want = hashlib.sha256(buf).hexdigest()
    flag = []
    signal.signal(signal.SIGUSR1, lambda *a: flag.append(1))
    with open(os.path.join(d, "digest." + role), "w") as f:
        f.write(want)
    while True:
        if flag:
            flag.clear()
            got = hashlib.sha256(buf).hexdigest()
            with open(os.path.join(d, "verdict." + role), "a") as f:
                f.write("ok\n" if got == want else "bad\n")
        time.sleep(0.05)
if os.fork() == 0:
    run("child", 2)
run("parent", 1)
"""


def sections(path):
    with open(path, "rb") as f:
        data = f.read()
    out = []
    for off, typ, _length in clitest.image_sections(data):
        owner = struct.unpack_from("<I", data, off + 8)[0]
        out.append((typ, owner))
    return out


def check_image(t, path, pids, label):
    secs = sections(path)
    kinds = [typ for typ, _ in secs]
    t.require(kinds and kinds[-1] == 0xFFFF, f"{label}: no trailer")
    pages = [i for i, typ in enumerate(kinds) if typ in PAGE_TYPES]
    meta = [i for i, typ in enumerate(kinds[:-1]) if typ not in PAGE_TYPES]
    t.check(pages and max(meta) < min(pages), f"{label}: a metadata section after a page section: {kinds}")
    owners = {owner for typ, owner in secs if typ in PAGE_TYPES}
    t.check(owners == set(pids), f"{label}: page sections owned by {sorted(owners)}, expected {sorted(pids)}")
    t.log(f"  {label}: {len(pages)} page sections, owners in stream order "
          f"{[owner for typ, owner in secs if typ in PAGE_TYPES]}")


def body(t):
    t.require_root("cr_restart restores the original pids, which needs CAP_CHECKPOINT_RESTORE")
    d = t.mkdir("state")
    s = t.spawn([sys.executable, "-c", SUBJECT, d], name="tree")
    t.require(clitest.wait_for(lambda: clitest.read_text(os.path.join(d, "digest.parent")) and clitest.read_text(os.path.join(d, "digest.child")), 60),
              "the subject did not write both digests")
    kids = [st.pid for st in clitest.children_of(s.pid)]
    t.require(len(kids) == 1, f"expected one child of {s.pid}, found {kids}")
    pids = [s.pid, kids[0]]

    t.section("plain image, one reader")
    plain = t.path("plain")
    os.environ["CREST_DUMP_READERS"] = "1"  # inherited by the tools started below
    r = t.run([t.cr_checkpoint, "-f", plain, s.pid], timeout=60)
    t.require(r.rc == 0, f"plain checkpoint failed: {r}")
    check_image(t, plain, pids, "plain")

    t.section("--compress=zstd --kill, two readers, then restart")
    packed = t.path("packed")
    t.reap_in_background(s)
    os.environ["CREST_DUMP_READERS"] = "2"
    r = t.run([t.cr_checkpoint, "--compress=zstd", "--kill", "-f", packed, s.pid], timeout=60)
    del os.environ["CREST_DUMP_READERS"]
    t.require(r.rc == 0, f"compressed checkpoint failed: {r}")
    check_image(t, packed, pids, "zstd")
    t.require(t.wait_pid_free(pids[0]) and t.wait_pid_free(pids[1]), "the killed tree's pids are not free")

    rp = t.start([t.cr_restart, packed])
    parent = t.require_restored(rp, "python3", "restart of the tree", pid=pids[0])
    t.require(clitest.wait_for(lambda: clitest.is_alive(pids[1]), 15), f"restored child {pids[1]} not running")
    t.track_pid(pids[1], clitest.read_stat(pids[1]).comm)
    for role, pid in (("parent", pids[0]), ("child", pids[1])):
        os.kill(pid, signal.SIGUSR1)
    for role in ("parent", "child"):
        v = os.path.join(d, "verdict." + role)
        t.check(clitest.wait_for(lambda: clitest.read_text(v), 15), f"restored {role} gave no verdict")
        t.check(clitest.read_text(v) == "ok\n", f"restored {role}: its memory differs after the restart: {clitest.read_text(v)!r}")
    os.kill(pids[1], signal.SIGKILL)
    t.kill_restored(rp, parent.pid, "restored tree")


if __name__ == "__main__":
    clitest.main(body)
