#!/usr/bin/env python3
"""cr_info --verify refuses every image cr_restart refuses before it creates a process:
flipped bytes, cuts, and images whose checksums are all correct but whose contents are
not what a restart accepts (a page run past its section, pages outside every area, an
unaligned memory area, a record with a trailing byte, a fd record of the wrong shape).
Each mutated image is checked with both tools; the message cr_info prints is the one
cr_restart prints (the same checks). The intact image verifies, and --records does not
read past a section for a run that runs past it."""
import os
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

T_MEMORY_MAP, T_MEMORY_PAGES, T_THREAD, T_PROCESS, T_TRAILER = 2, 3, 4, 1, 0xFFFF
PAGE = 4096


def parse(data):
    """(header bytes, [(type, owner, payload)]) without the trailer."""
    out = []
    for off, typ, length in clitest.image_sections(data):
        if typ == T_TRAILER:
            break
        _magic, _typ, owner = struct.unpack_from("<III", data, off)
        out.append((typ, owner, bytes(data[off + 32:off + 32 + length])))
    return bytes(data[:clitest.HEADER_SIZE]), out


def build(header, sections):
    """An image with every checksum right (docs/image-format.md): section headers with
    their payload checksum and header check, the trailer over the chain."""
    out = bytearray(header)
    chain = bytearray(header)

    def section(typ, owner, payload):
        h = bytearray(struct.pack("<IIIIQQ", 0x45535243, typ, owner, 0, len(payload), clitest.xxh3_64(payload)))
        struct.pack_into("<I", h, 12, clitest.xxh3_64(h) & 0xFFFFFFFF)
        return bytes(h)

    for typ, owner, payload in sections:
        h = section(typ, owner, payload)
        chain += h
        out += h + payload
    trailer = struct.pack("<QQQ", len(sections), len(out), clitest.xxh3_64(chain))
    out += section(T_TRAILER, 0, trailer) + trailer + b"CRESTEND"
    return bytes(out)


def first(sections, typ):
    return next(i for i, s in enumerate(sections) if s[0] == typ)


def replaced(header, sections, i, payload):
    s = list(sections)
    s[i] = (s[i][0], s[i][1], payload)
    return build(header, s)


def semantic_mutations(data):
    """{name: image}: consistent checksums, contents a restart refuses."""
    header, sections = parse(data)
    out = {"rebuilt": build(header, sections)}  # control: must verify and restore
    pages = first(sections, T_MEMORY_PAGES)
    payload = bytearray(sections[pages][2])
    address, count = struct.unpack_from("<QQ", payload, 0)
    past = bytearray(payload)
    struct.pack_into("<Q", past, 8, count + len(payload) // PAGE + 1)  # runs past the section
    out["run_past_end"] = replaced(header, sections, pages, bytes(past))
    huge = bytearray(payload)
    struct.pack_into("<Q", huge, 8, 1 << 62)  # count * page size overflows
    out["run_count_overflow"] = replaced(header, sections, pages, bytes(huge))
    outside = bytearray(payload)
    struct.pack_into("<Q", outside, 0, 0x1000)  # no area holds page 1
    out["run_outside_areas"] = replaced(header, sections, pages, bytes(outside))
    mm = first(sections, T_MEMORY_MAP)
    vmas = bytearray(sections[mm][2])
    start, = struct.unpack_from("<Q", vmas, 4)  # u32 count, then the first area's start
    struct.pack_into("<Q", vmas, 4, start + 8)
    out["unaligned_area"] = replaced(header, sections, mm, bytes(vmas))
    proc = first(sections, T_PROCESS)
    out["record_trailing_byte"] = replaced(header, sections, proc, sections[proc][2] + b"\0")
    thread = first(sections, T_THREAD)
    out["record_cut"] = replaced(header, sections, thread, sections[thread][2][:-1])
    out["no_thread"] = build(header, [s for s in sections if s[0] != T_THREAD])
    out["pages_for_unknown_pid"] = build(header, [(t, 424242 if t == T_MEMORY_PAGES else o, p) for t, o, p in sections])
    return out


def cr_info(t, *args):
    r = t.run([t.tool("cr_info"), *args], timeout=30)
    if isinstance(r.out, bytes):
        r.out = r.out.decode(errors="replace")
    return r


def core(message):
    """The part of a message both tools print: after the image name."""
    line = message.strip().splitlines()[-1] if message.strip() else ""
    return line.split(": ", 2)[-1]


def body(t):
    img, data, pid, subject = clitest.read_spin_image(t)
    r = cr_info(t, "--verify", img)
    t.check(r.rc == 0 and "complete and verified" in r.out, f"the intact image verifies: {r}")

    for name, bad in semantic_mutations(data).items():
        path = t.path(name)
        with open(path, "wb") as f:
            f.write(bad)
        v = cr_info(t, "--verify", path)
        if name == "rebuilt":
            t.check(v.rc == 0, f"{name}: the re-encoded intact image verifies (the test's encoder is right): {v}")
            continue
        t.check(v.rc not in (None, 0) and v.err.strip(), f"{name}: cr_info --verify refuses it with a message: {v}")
        rec = cr_info(t, "--records", path)
        t.check(rec.rc not in (None, 0), f"{name}: cr_info --records refuses it too: {rec}")
        r = clitest.expect_rejected(t, path, pid, f"{name}: cr_restart refuses it",
                                    words=("corrupt", "malformed", "fit", "outside", "trailing", "wrong size", "no ", "not in"))
        t.check(core(r.err) and core(r.err) in v.err,
                f"{name}: cr_info names what cr_restart names ({core(r.err)!r} in {v.err!r})")

    size = len(data)
    sections = clitest.image_sections(data)
    offsets = sorted({0, 9, 130, size // 3, size // 2, size - 40, size - 1} | {off + 40 for off, _, _ in sections[:6]})
    for off in offsets:
        bad = bytearray(data)
        bad[off] ^= 0x10
        path = t.path(f"flip.{off}")
        with open(path, "wb") as f:
            f.write(bad)
        v = cr_info(t, "--verify", path)
        t.check(v.rc not in (None, 0) and any(w in v.err.lower() for w in clitest.CORRUPTION_WORDS),
                f"byte {off} flipped: cr_info --verify refuses it naming the damage: {v}")
    for cut in sorted({64, 200, size // 2, size - 41, size - 8, size - 1}):
        path = t.path(f"cut.{cut}")
        with open(path, "wb") as f:
            f.write(data[:cut])
        v = cr_info(t, "--verify", path)
        t.check(v.rc not in (None, 0) and v.err.strip(), f"cut at {cut} of {size}: cr_info --verify refuses it: {v}")
    clitest.expect_restores(t, img, subject, "control: the intact image restores")


if __name__ == "__main__":
    clitest.main(body)
