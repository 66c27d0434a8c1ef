#!/usr/bin/env python3
"""cr_restart of an image made for another architecture / format version /
page size (header edited, every checksum recomputed so the image is otherwise
consistent) fails naming the incompatibility, and leaves no process behind. A format
version 1 image is named as made by an older crest (exit 55).
The same edits without fixing the checksums must be rejected as corrupt."""
import os
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

EM_AARCH64 = 183


def body(t):
    img, data, pid, subject = clitest.read_spin_image(t)
    t.require(data[:8] == clitest.IMAGE_MAGIC, f"image does not start with {clitest.IMAGE_MAGIC!r}: {data[:8]!r}")
    version, arch, page_size = struct.unpack_from("<III", data, clitest.HEADER_VERSION_OFFSET)
    t.log(f"header: version {version}, arch {arch}, page size {page_size}")
    t.require(arch == 62, f"header arch field (offset 12) is {arch}, expected 62 (EM_X86_64) per docs/image-format.md")
    try:
        resealed = clitest.reseal_image(data)
    except ValueError as e:
        t.fail_now(f"image does not match the documented layout: {e}")
    t.require(resealed == data, "recomputing the checksums of the unmodified image changed it: the test's "
                                "understanding of the image format (docs/image-format.md) is out of date")

    def edited(offset, value, seal):
        d = bytearray(data)
        struct.pack_into("<I", d, offset, value)
        return clitest.reseal_image(d) if seal else bytes(d)

    variants = [
        ("arch changed to aarch64 (183), checksums fixed", clitest.HEADER_ARCH_OFFSET, EM_AARCH64, True,
         ("architecture",)),
        ("arch changed to i386 (3), checksums fixed", clitest.HEADER_ARCH_OFFSET, 3, True, ("architecture",)),
        (f"format version changed to {version + 1}, checksums fixed", clitest.HEADER_VERSION_OFFSET,
         version + 1, True, ("version",)),
        ("format version changed to 0, checksums fixed", clitest.HEADER_VERSION_OFFSET, 0, True, ("version",)),
        ("page size changed to 65536, checksums fixed", 16, 65536, True, ("page size", "page-size", "pagesize")),
        ("arch changed to aarch64, checksums NOT fixed", clitest.HEADER_ARCH_OFFSET, EM_AARCH64, False,
         clitest.CORRUPTION_WORDS),
        ("format version changed, checksums NOT fixed", clitest.HEADER_VERSION_OFFSET, version + 1, False,
         clitest.CORRUPTION_WORDS),
    ]
    for i, (label, offset, value, seal, words) in enumerate(variants):
        clitest.expect_rejected_bytes(t, f"foreign.{i}", edited(offset, value, seal), pid, label,
                                      words=words)
    # Version 1 (before the descriptor kinds had records of their own) is named as made by
    # an older crest, with CR_EBADARCH (55) like any foreign version.
    if version != 1:
        r = clitest.expect_rejected_bytes(t, "foreign.v1", edited(clitest.HEADER_VERSION_OFFSET, 1, True), pid,
                                          "format version changed to 1, checksums fixed",
                                          words=("format version 1",))
        t.check(r.rc == 55, f"a version 1 image: cr_restart exited {r.rc}, expected 55 (CR_EBADARCH): {r}")
        t.check("older crest" in r.err and "re-checkpoint" in r.err,
                f"a version 1 image: the message does not say it was made by an older crest and to "
                f"re-checkpoint: {r.err!r}")
    clitest.expect_restores(t, img, subject, "control: the intact image restores")


if __name__ == "__main__":
    clitest.main(body)
