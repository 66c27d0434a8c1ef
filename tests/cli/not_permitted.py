#!/usr/bin/env python3
"""An ordinary user (uid 65534) may not checkpoint a root-owned process:
cr_checkpoint exits 1 (EPERM); the target keeps running (not stopped, not
traced) and no image or temporary file is left behind."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    t.require_root("it starts a root-owned process and checkpoints it as uid 65534 via setpriv")
    t.require_usable_by_nobody(t.cr_checkpoint)
    s = t.spin_print()
    # A directory uid 65534 can write to, so the only obstacle is the target's owner.
    out_dir = t.mkdir("out", mode=0o777)
    img = os.path.join(out_dir, "x")
    for args in (["-f", img], ["--clobber", "-f", img], ["-F", "1"]):
        t.section(f"setpriv ... cr_checkpoint {' '.join(args)} {s.pid}")
        r = t.run([t.cr_checkpoint, *args, s.pid], user=True, cwd=out_dir)
        t.check(r.rc == 1, f"expected exit 1 (EPERM): {r}")
        t.check(r.err.strip(), f"expected an explanation on stderr: {r}")
        if args[0] == "-F":
            t.check(len(r.out) == 0 or not r.out.startswith(clitest.IMAGE_MAGIC),
                    f"an image was written to stdout ({len(r.out)} bytes)")
        t.check(os.listdir(out_dir) == [], f"files left behind: {os.listdir(out_dir)}")
        t.check(clitest.tracer_pid(s.pid) == 0, f"target still traced by pid {clitest.tracer_pid(s.pid)}")
        t.check_running(s, "root's process after the refused checkpoint")


if __name__ == "__main__":
    clitest.main(body)
