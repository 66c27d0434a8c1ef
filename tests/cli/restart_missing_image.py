#!/usr/bin/env python3
"""cr_restart of an image path that does not exist exits 2 (ENOENT) with a
message naming the path, and starts nothing."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    missing = "/nonexistent/ctx"
    t.require(not os.path.exists(missing), f"{missing} unexpectedly exists")
    missing2 = t.path("no-such-image")
    for args, path in (([missing], missing), (["-f", missing], missing), ([missing2], missing2)):
        t.section(f"cr_restart {' '.join(args)}")
        before = set(t.live_descendants())
        r = t.run([t.cr_restart, *args])
        t.check(r.rc not in (None, 0), f"should fail: {r}")
        t.check(r.rc == 2, f"expected exit 2 (ENOENT): {r}")
        t.check(path in r.err, f"stderr should name {path}: {r}")
        t.check_no_new_processes(before, f"cr_restart {' '.join(args)}")


if __name__ == "__main__":
    clitest.main(body)
