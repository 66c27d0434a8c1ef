#!/usr/bin/env python3
"""A thread id given to cr_checkpoint names its process (BLCR: "a PROC target may be
named by any thread id"): the image is of the whole thread group, named context.PID
with the process's pid, and the restarted process has its pid and its thread's id
where they were (before the fix the tid became the restored process's pid and the pid
a thread's)."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def worker_tid(t, s):
    t.wait_output(s, lambda: any(l.startswith("tid ") for l in s.lines()), "the worker's tid")
    return int(next(l for l in s.lines() if l.startswith("tid "))[4:])


def body(t):
    t.require_root("the restored copy gets the original pid and tid back")
    s = t.spawn([t.helper("checksum_threads"), "2"], name="thr")
    tid = worker_tid(t, s)
    t.wait_output(s, lambda: len(s.counters()) >= 3, "3 counter lines")
    t.require(tid != s.pid and clitest.status_field(tid, "Tgid") == str(s.pid), f"{tid} is not a thread of {s.pid}")

    t.section("cr_checkpoint --pid TID in the cwd writes context.PID")
    cwd = t.mkdir("cwd")
    r = t.run([t.cr_checkpoint, "--pid", tid], cwd=cwd)
    t.check(r.rc == 0, f"cr_checkpoint --pid {tid} failed: {r}")
    names = sorted(os.listdir(cwd))
    t.check(names == [f"context.{s.pid}"], f"expected context.{s.pid} (the process's pid), found {names}")

    t.section("cr_checkpoint --kill TID, then cr_restart: pid and tid where they were")
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img, tid])
    t.require(r.rc == 0, f"cr_checkpoint --kill {tid} failed: {r}")
    s.wait(5)
    at_ckpt = s.counters()
    rp = t.start([t.cr_restart, img])
    st = t.require_restored(rp, "checksum_thread", failure="no restore", pid=s.pid)
    t.check(st.pid == s.pid, f"the restored process has pid {st.pid}, not {s.pid}")
    tasks = sorted(int(x) for x in os.listdir(f"/proc/{s.pid}/task")) if os.path.isdir(f"/proc/{s.pid}/task") else []
    t.check(tasks == sorted([s.pid, tid]), f"threads of the restored {s.pid}: {tasks}, expected {sorted([s.pid, tid])}")
    t.check(clitest.status_field(tid, "Tgid") == str(s.pid), f"thread {tid} is not in the thread group {s.pid}")
    t.check_counter_resumed(s, at_ckpt, s.pid)
    t.check(not any(l.startswith("BAD") for l in s.lines()), f"the restored process reports damage: {s.text()[-200:]!r}")
    t.kill_restored(rp, s.pid)


if __name__ == "__main__":
    clitest.main(body)
