#!/usr/bin/env python3
"""A restart refuses a machine the image cannot run on (docs/design.md, "Trust").

A copy of mapped_files (an ELF program with a build-id) runs from a scratch directory
with a private mapping of a data file; it is checkpointed with --kill mid-run. Then:
- the data file rewritten (same size, new contents and mtime): refused, exit 116,
  naming the file; --allow-changed-files restarts it with a warning naming it;
- the program replaced by a rebuild (another build-id, same size): refused, naming the
  program and its build-id;
- the program replaced by a plain copy of itself (new inode and mtime, same build-id):
  restarts and prints exactly what an uninterrupted run prints;
- the image's CPU record claiming a feature this CPU lacks (a CPUID bit, an XSAVE
  component), checksums fixed: refused, exit 55, naming the feature;
  --allow-missing-cpu-features restarts it.
Each refusal leaves no process behind."""
import os
import shutil
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

TICKS = 25
ESTALE = 116
CR_EBADARCH = 55
SECTION_PROCESS_TREE = 8


def build_id_offset(elf):
    """(offset, size) of the NT_GNU_BUILD_ID descriptor in a 64-bit ELF file."""
    phoff, = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    for i in range(phnum):
        p_type, _flags, p_offset, _va, _pa, p_filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        at = p_offset
        while at + 12 <= p_offset + p_filesz:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, at)
            desc = at + 12 + ((namesz + 3) & ~3)
            if ntype == 3 and elf[at + 12:at + 16] == b"GNU\0":
                return desc, descsz
            at = desc + ((descsz + 3) & ~3)
    return None


def cpu_record(payload):
    """Offsets in a ProcessTree payload: (xcr0 offset, [(offset of a CPUID entry, leaf,
    subleaf, eax, ebx, ecx, edx)]) per docs/image-format.md."""
    _root, n = struct.unpack_from("<iI", payload, 0)
    at = 8 + n * 21  # TreeEntryRecord: 4 x i32, u8, i32
    xcr0_at = at
    count, = struct.unpack_from("<I", payload, at + 8)
    entries, at = [], at + 12
    for _ in range(count):
        entries.append((at, *struct.unpack_from("<6I", payload, at)))
        at += 24
    if at != len(payload):
        raise ValueError(f"ProcessTree payload has {len(payload) - at} bytes after the CPU record")
    return xcr0_at, entries


def edit_tree(data, edit):
    """The image with its ProcessTree payload changed by edit(bytearray), every checksum
    fixed."""
    d = bytearray(data)
    off, typ, length = clitest.image_sections(d)[0]
    if typ != SECTION_PROCESS_TREE:
        raise ValueError("the first section is not the ProcessTree")
    payload = bytearray(d[off + 32:off + 32 + length])
    edit(payload)
    d[off + 32:off + 32 + length] = payload
    struct.pack_into("<Q", d, off + 24, clitest.xxh3_64(bytes(payload)))
    struct.pack_into("<I", d, off + 12, 0)
    struct.pack_into("<I", d, off + 12, clitest.xxh3_64(bytes(d[off:off + 32])) & 0xFFFFFFFF)
    return clitest.reseal_image(d)


# (leaf, subleaf, register index 0-3 = eax..edx, bit, the name cr_restart gives it)
CANDIDATE_BITS = [(7, 0, 1, 16, "avx512f"), (7, 0, 3, 8, "avx512_vp2intersect"), (7, 0, 3, 24, "amx_tile"),
                  (0x80000001, 0, 2, 11, "xop"), (0x80000001, 0, 2, 16, "fma4"), (7, 0, 1, 4, "hle")]
CANDIDATE_XSAVE = [(17, "amx_tilecfg"), (18, "amx_tiledata"), (3, "bndregs"), (9, "pkru"), (5, "opmask")]


def body(t):
    t.require_root("the restored copy gets the original pid back")
    program = t.helper("mapped_files")

    def setup(label, user=False):
        return clitest.mapped_files_setup(t, label, user)

    def argv(files):
        return [files["exe"], files["private"], files["shared"], TICKS]

    t.section("reference: an uninterrupted run")
    files = setup("ref")
    ref = t.spawn(argv(files), name="ref")
    r = ref.wait(20)
    t.require(r.rc is not None, "the reference run did not finish")
    ref_rc, ref_text = r.rc, ref.text()
    t.require(ref_rc == 40 + TICKS % 50, f"reference run: exit {ref_rc}, output {ref_text[-200:]!r}")

    def checkpointed(label):
        files = setup(label)
        s = t.spawn(argv(files), name=label)
        t.wait_output(s, lambda: "tick 5" in s.text(), "tick 5")
        img = t.path(f"img.{label}")
        r = t.run([t.cr_checkpoint, "--kill", "-f", img, s.pid])
        t.require(r.rc == 0, f"{label}: checkpoint failed: {r}")
        s.wait(5)
        return files, s, img

    def refused(label, img, rc, words, s, extra=()):
        before = set(t.live_descendants())
        r = t.run([t.cr_restart, *extra, img], timeout=20)
        t.check(r.rc == rc, f"{label}: cr_restart should exit {rc}: {r}")
        for w in words:
            t.check(w in r.err, f"{label}: the error should name {w!r}: {r}")
        t.check_no_new_processes(before, label)
        t.check_not_restored(s.pid, "mapped_files", label)

    t.section("a privately mapped data file rewritten (same size)")
    files, s, img = checkpointed("data")
    with open(files["private"], "w") as f:
        f.write("PRIVATE-DATA\n")
    refused("data", img, ESTALE, [files["private"], "changed"], s)
    r = t.run([t.cr_restart, "--allow-changed-files", img], timeout=20)
    t.check(r.rc == ref_rc, f"data: --allow-changed-files should restart it: {r}")
    t.check(files["private"] in r.err and "warning" in r.err,
            f"data: --allow-changed-files should warn naming the file: {r}")

    t.section("the program replaced by a rebuild (another build-id)")
    files, s, img = checkpointed("rebuilt")
    with open(files["exe"], "rb") as f:
        elf = bytearray(f.read())
    where = build_id_offset(elf)
    t.require(where is not None, f"{program} has no build-id note (Debian's gcc links with --build-id)")
    elf[where[0]] ^= 0xff
    with open(files["exe"] + ".new", "wb") as f:
        f.write(elf)
    os.chmod(files["exe"] + ".new", 0o755)
    os.rename(files["exe"] + ".new", files["exe"])
    refused("rebuilt", img, ESTALE, [files["exe"], "build-id"], s)

    t.section("the program replaced by a copy of itself (same build-id, new inode and mtime)")
    files, s, img = checkpointed("copied")
    shutil.copy(program, files["exe"] + ".new")  # no copy2: a new modification time
    os.rename(files["exe"] + ".new", files["exe"])
    r = t.run([t.cr_restart, img], timeout=20)
    t.check(r.rc == ref_rc, f"copied: restart should exit {ref_rc} like an uninterrupted run: {r}")
    t.check(s.text() == ref_text, f"copied: output differs from an uninterrupted run:\n{s.text()[-300:]!r}")

    t.section("the image's CPU has a feature this one lacks")
    files, s, img = checkpointed("cpu")
    with open(img, "rb") as f:
        data = f.read()
    tree = clitest.image_sections(data)[0]
    xcr0_at, entries = cpu_record(data[tree[0] + 32:tree[0] + 32 + tree[2]])
    by_leaf = {(e[1], e[2]): e for e in entries}
    t.require((7, 0) in by_leaf and (1, 0) in by_leaf, f"the CPU record lacks leaves 1 and 7: {entries}")
    bit = next(((leaf, sub, reg, b, name) for leaf, sub, reg, b, name in CANDIDATE_BITS
                if (leaf, sub) in by_leaf and not by_leaf[(leaf, sub)][3 + reg] >> b & 1), None)
    t.require(bit is not None, "this CPU has every candidate feature; the test needs one it lacks")
    leaf, sub, reg, b, name = bit

    def add_bit(p):
        at = by_leaf[(leaf, sub)][0] + 8 + 4 * reg
        v, = struct.unpack_from("<I", p, at)
        struct.pack_into("<I", p, at, v | 1 << b)

    edited = t.path("img.cpu.feature")
    with open(edited, "wb") as f:
        f.write(edit_tree(data, add_bit))
    refused("cpuid", edited, CR_EBADARCH, [name], s)
    xcr0, = struct.unpack_from("<Q", data, tree[0] + 32 + xcr0_at)
    comp = next(((c, n) for c, n in CANDIDATE_XSAVE if not xcr0 >> c & 1), None)
    t.require(comp is not None, f"XCR0 {xcr0:#x} has every candidate component")
    edited_x = t.path("img.cpu.xsave")
    with open(edited_x, "wb") as f:
        f.write(edit_tree(data, lambda p: struct.pack_into("<Q", p, xcr0_at, xcr0 | 1 << comp[0])))
    refused("xcr0", edited_x, CR_EBADARCH, [comp[1]], s)
    r = t.run([t.cr_restart, "--allow-missing-cpu-features", edited], timeout=20)
    t.check(r.rc == ref_rc and s.text() == ref_text,
            f"cpu: --allow-missing-cpu-features should restart it as an uninterrupted run: {r}")
    t.check(name in r.err and "warning" in r.err, f"cpu: the override should warn naming {name}: {r}")


if __name__ == "__main__":
    clitest.main(body)
