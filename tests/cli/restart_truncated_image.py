#!/usr/bin/env python3
"""cr_restart of a truncated image fails with a message saying so and leaves no
process behind; the intact image (control) does restore."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    img, data, pid, subject = clitest.read_spin_image(t)
    size = len(data)
    cuts = sorted({0, 4, 16, clitest.HEADER_SIZE - 1, clitest.HEADER_SIZE, clitest.HEADER_SIZE + 16,
                   size // 2, size - 64, size - 8, size - 1})
    for cut in cuts:
        clitest.expect_rejected_bytes(t, f"trunc.{cut}", data[:cut], pid,
                                      f"image truncated to {cut} of {size} bytes")
    clitest.expect_restores(t, img, subject, "control: the intact image restores")


if __name__ == "__main__":
    clitest.main(body)
