#!/usr/bin/env python3
"""An after-action signal that kills the target (-S 9 / --signal 9) is a success:
cr_checkpoint exits 0 once the image is written although the frozen threads die
before they can be detached (PTRACE_DETACH then fails with ESRCH).  Checked for
one process (whose image then restarts and goes on counting), for a tree of two
processes, and for a process with several threads."""
import os
import signal
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

THREADS_PY = ("import threading, time\n"
              "for _ in range(4): threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()\n"
              "print('ready', flush=True)\n"
              "time.sleep(1000)\n")


def ckpt(t, name, args, pid):
    img = t.path(f"img.{name}")
    r = t.run([t.cr_checkpoint, *args, "-f", img, pid])
    t.check(r.rc == 0, f"cr_checkpoint {' '.join(args)}: expected success, got {r}")
    t.check("gone" not in r.err and "ESRCH" not in r.err, f"cr_checkpoint {' '.join(args)}: reports a vanished target: {r.err!r}")
    t.check(os.path.isfile(img) and os.path.getsize(img) > 0, f"cr_checkpoint {' '.join(args)}: no image written")
    return img if r.rc == 0 else None


def body(t):
    t.require_root("cr_restart restores the original pid, which needs CAP_CHECKPOINT_RESTORE")

    t.section("--pid -S 9: exit 0, the target dies of SIGKILL, the image restarts")
    s = t.spin_print(name="pid9", min_lines=5)
    img = ckpt(t, "pid9", ["--pid", "-S", "9"], s.pid)
    died = t.expect_death(s, signal.SIGKILL)
    if img and died:
        at_ckpt = s.counters()
        rp = t.start([t.cr_restart, img])
        st = t.require_restored(rp, "spin_print", "restart of the -S 9 image", pid=s.pid)
        t.check_counter_resumed(s, at_ckpt, st.pid, "restarted -S 9 image")
        t.kill_restored(rp, st.pid, "restarted -S 9 image")

    t.section("--signal 9 on a tree of two processes")
    spin = t.helper("spin_print")
    parent = t.spawn(["/bin/sh", "-c", f"'{spin}' 0 50 & exec '{spin}' 0 50"], name="tree9")
    t.wait_output(parent, lambda: len(parent.counters()) >= 6, "counters of both processes")
    kids = [st.pid for st in clitest.children_of(parent.pid) if st.comm == "spin_print"]
    t.require(len(kids) == 1, f"expected one child spin_print under {parent.pid}, found {kids}")
    ckpt(t, "tree9", ["--tree", "--signal", "9"], parent.pid)
    t.expect_death(parent, signal.SIGKILL)
    t.check(t.wait_pid_free(kids[0]), f"--signal 9 on a tree: child {kids[0]} still there ({t.state_desc(kids[0])})")

    t.section("--pid -S 9 on a process with 5 threads")
    py = t.spawn([sys.executable, "-c", THREADS_PY], name="threads9")
    t.wait_output(py, lambda: "ready" in py.lines(), "ready")
    tasks = os.listdir(f"/proc/{py.pid}/task")
    t.require(len(tasks) == 5, f"expected 5 threads, found {len(tasks)}")
    ckpt(t, "threads9", ["--pid", "-S", "9"], py.pid)
    t.expect_death(py, signal.SIGKILL)


if __name__ == "__main__":
    clitest.main(body)
