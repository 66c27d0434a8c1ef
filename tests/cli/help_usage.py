#!/usr/bin/env python3
"""--help exits 0 with usage on stdout; usage errors (unknown option, missing
pid) exit 255 (BLCR convention) with a message on stderr."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    for tool in (t.cr_checkpoint, t.cr_restart):
        name = os.path.basename(tool)
        t.section(f"{name} --help")
        r = t.run([tool, "--help"], timeout=10)
        out = r.out.decode("utf-8", "replace")
        t.check(r.rc == 0, f"{name} --help should exit 0: {r}")
        t.check("usage" in out.lower(), f"{name} --help should print usage on stdout; stdout was {out[:300]!r}")

        t.section(f"{name} --no-such-option")
        r = t.run([tool, "--no-such-option", "1"], timeout=10)
        t.check(r.rc == 255, f"{name} with an unknown option should exit 255: {r}")
        t.check(r.err.strip(), f"{name} with an unknown option should explain on stderr: {r}")

    t.section("cr_checkpoint without a pid")
    r = t.run([t.cr_checkpoint], timeout=10)
    t.check(r.rc == 255, f"cr_checkpoint with no pid should exit 255: {r}")
    t.check(r.err.strip(), f"cr_checkpoint with no pid should explain on stderr: {r}")

    t.section("cr_checkpoint with only options, no pid")
    r = t.run([t.cr_checkpoint, "-f", t.path("img")], timeout=10)
    t.check(r.rc == 255, f"cr_checkpoint -f FILE with no pid should exit 255: {r}")
    t.check(not os.path.exists(t.path("img")), "usage error still created an image file")


if __name__ == "__main__":
    clitest.main(body)
