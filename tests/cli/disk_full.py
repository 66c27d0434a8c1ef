#!/usr/bin/env python3
"""Checkpointing an 8 MiB process onto a 1 MiB tmpfs (-f, --backup -f, and -d: one
image per process) fails with exit 28 (ENOSPC) and a message; no image or temporary file is left on the full file
system; the target keeps running."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    t.require_root("it mounts a tmpfs")
    full = t.mkdir("full")
    t.mount_tmpfs(full, "1m")
    s = t.big_mem(8)
    for args in (["-f", os.path.join(full, "ctx")],
                 ["--backup", "-f", os.path.join(full, "ctx")],
                 ["-d", full]):
        label = "cr_checkpoint " + " ".join(args)
        t.section(label)
        r = t.run([t.cr_checkpoint, *args, s.pid], timeout=60)
        t.check(r.rc == 28, f"{label}: expected exit 28 (ENOSPC): {r}")
        t.check(r.err.strip(), f"{label}: expected a message on stderr: {r}")
        t.check("space" in r.err.lower() or "enospc" in r.err.lower(),
                f"{label}: message should say the device is out of space: {r}")
        left = os.listdir(full)
        t.check(left == [], f"{label}: files left on the full file system: {left}")
        t.check(clitest.tracer_pid(s.pid) == 0, f"{label}: target still traced")
        t.check_running(s, f"{label}: the target after the failed checkpoint")


if __name__ == "__main__":
    clitest.main(body)
