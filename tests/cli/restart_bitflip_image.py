#!/usr/bin/env python3
"""cr_restart of an image with one corrupted byte (header, section headers,
page data, trailer, end marker) fails with a message saying what is wrong and
leaves no process behind; the intact image (control) does restore."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    img, data, pid, subject = clitest.read_spin_image(t)
    size = len(data)
    offsets = {0, 7, 8, 12, 16, 30, 100, 120, 127, 128, 128 + 16, 128 + 24, 128 + 32,
               size // 4, size // 2, (3 * size) // 4, size - 80, size - 40, size - 9, size - 1}
    try:
        sections = clitest.image_sections(data)
        step = max(1, len(sections) // 10)  # at most ~10 sections plus the trailer
        for off, typ, length in sections[::step] + sections[-1:]:
            offsets.update({off + 4, off + 16, off + 32 + length // 2})  # type, length, payload
    except ValueError as e:
        t.log(f"(image does not parse as documented: {e}; using the fixed offsets only)")
    for off in sorted(o for o in offsets if 0 <= o < size):
        for mask in (0x01, 0xFF):
            bad = bytearray(data)
            bad[off] ^= mask
            clitest.expect_rejected_bytes(t, f"flip.{off}.{mask:02x}", bad, pid,
                                          f"byte {off} of {size} xor 0x{mask:02x}")
    clitest.expect_restores(t, img, subject, "control: the intact image restores")


if __name__ == "__main__":
    clitest.main(body)
