#!/usr/bin/env python3
"""A kernel thread (PF_KTHREAD in /proc/PID/stat) is refused by name before anything
else happens: exit 125, a message naming its pid and name, no image.  Run in the root
pid namespace (the only one where kernel threads are seen): kthreadd, and one more
kernel thread, as --pid and as --tree."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

REFUSED = 125  # ECANCELED: tools/cr_checkpoint.cc --help, docs/design.md "Exit codes"
PF_KTHREAD = 0x00200000


def kernel_threads():
    """[(pid, comm)] of the kernel threads in /proc, from the flags field (9) of stat."""
    out = []
    for pid in clitest.all_pids():
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read().decode("latin-1")
        except OSError:
            continue
        rpar = data.rfind(")")
        fields = data[rpar + 2:].split()  # from field 3 (state) on
        if int(fields[6]) & PF_KTHREAD:
            out.append((pid, data[data.find("(") + 1:rpar]))
    return out


def body(t):
    t.require_root("as an ordinary user a kernel thread is refused by ptrace anyway")
    threads = kernel_threads()
    t.require(threads, "no kernel thread in /proc: this test must run in the root pid namespace")
    picked = [k for k in threads if k[1] == "kthreadd"][:1] + [k for k in threads if k[1] != "kthreadd"][:1]
    for pid, comm in picked:
        for scope in ("--pid", "--tree"):
            what = f"cr_checkpoint {scope} {pid} ({comm})"
            img = t.path("kthread.img")
            r = t.run([t.cr_checkpoint, scope, "-f", img, pid])
            t.check(r.rc == REFUSED, f"{what}: expected exit {REFUSED} (refused), got {r}")
            t.check(f"process {pid} ({comm}) is a kernel thread" in r.err,
                    f"{what}: the message should name the kernel thread: {r.err!r}")
            t.check(not os.path.exists(img), f"{what}: an image was written")


if __name__ == "__main__":
    clitest.main(body)
