#!/usr/bin/env python3
"""cr_checkpoint of a pid that does not exist exits 3 (ESRCH), names the pid on
stderr and writes no image."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    pid = clitest.free_pid(999999)
    cwd = t.mkdir("cwd")
    for args in ([pid], ["-f", t.path("img"), pid]):
        t.section(f"cr_checkpoint {' '.join(map(str, args))}")
        r = t.run([t.cr_checkpoint, *args], cwd=cwd)
        t.check(r.rc == 3, f"expected exit 3 (ESRCH): {r}")
        t.check(str(pid) in r.err, f"stderr should name pid {pid}: {r}")
        t.check(os.listdir(cwd) == [], f"files left in cr_checkpoint's cwd: {os.listdir(cwd)}")
        t.check(not os.path.exists(t.path("img")), "image file created for a nonexistent pid")
        leftovers = [f for f in os.listdir(t.scratch) if f != "cwd"]
        t.check(not leftovers, f"files left in the image directory: {leftovers}")


if __name__ == "__main__":
    clitest.main(body)
