#!/usr/bin/env python3
"""cr_restart of a truncated image fails with a message saying so and leaves no
process behind; the intact image (control) does restore."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    t.require_root("cr_restart restores the original pid, which needs CAP_CHECKPOINT_RESTORE")
    img, pid, subject = clitest.make_spin_image(t)
    with open(img, "rb") as f:
        data = f.read()
    size = len(data)
    t.log(f"image {img}: {size} bytes")
    cuts = sorted({0, 4, 16, clitest.HEADER_SIZE - 1, clitest.HEADER_SIZE, clitest.HEADER_SIZE + 16,
                   size // 2, size - 64, size - 8, size - 1})
    for cut in cuts:
        bad = t.path(f"trunc.{cut}")
        with open(bad, "wb") as f:
            f.write(data[:cut])
        clitest.expect_rejected(t, bad, pid, f"image truncated to {cut} of {size} bytes")
    clitest.expect_restores(t, img, subject, "control: the intact image restores")


if __name__ == "__main__":
    clitest.main(body)
