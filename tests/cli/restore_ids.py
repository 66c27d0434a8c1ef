#!/usr/bin/env python3
"""cr_restart's RESTORE_* combinations (--restore-pid/--no-restore-pid, --restore-pgid,
--restore-sid, BLCR's CR_RSTRT_RESTORE_* flags): a restarted process has exactly the
process group and session the options ask for (the saved ones, or cr_restart's), or
the restart fails naming the group or session it cannot give. Never a third value.

Before the fix: --restore-sid was silently ignored for a process whose session leader
was not in the image; with --no-restore-pid, --restore-pgid/--restore-sid made a group
or session named after the new pid; --restore-sid without --restore-pgid gave a session
leader its own group although the options asked for cr_restart's.
"""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

EBUSY = 16

# leader: a session leader L with a child C in its group and session (both in the image).
# member: a parent P leads a new session; its child C makes its own group in that session
#         and prints its pid; only C is checkpointed (its session's leader is outside).
# own_group: C in the test's session with its own group.
SUBJECT = r"""
import os, sys, time
mode = sys.argv[1]
if mode == "leader":
    os.setsid()
    c = os.fork()
    if c == 0:
        while True: time.sleep(1000)
    print("ready", os.getpid(), c, flush=True)
    while True: time.sleep(1000)
if mode == "member":
    os.setsid()
c = os.fork()
if c == 0:
    os.setpgid(0, 0)
    print("ready", os.getpid(), os.getpid(), flush=True)
    while True: time.sleep(1000)
os.waitpid(c, 0)  # so that its pid is free once cr_checkpoint --kill ends it
while True: time.sleep(1000)
"""


def ids(pid):
    """(pgid, sid) of pid from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[2]), int(rest[3])


def start(t, mode):
    script = t.path("subject.py")
    with open(script, "w") as f:
        f.write(SUBJECT)
    s = t.spawn(["python3", script, mode], name=mode)
    t.wait_output(s, lambda: any(l.startswith("ready ") for l in s.lines()), "ready")
    _, top, child = next(l for l in s.lines() if l.startswith("ready ")).split()
    return s, int(top), int(child)


def checkpoint_killed(t, img, top, pids):
    r = t.run([t.cr_checkpoint, "--kill", "--tree", "-f", img, top])
    t.require(r.rc == 0, f"cr_checkpoint --kill --tree {top}: {r}")
    for p in pids:
        t.require(t.wait_pid_free(p), f"process {p} still exists after cr_checkpoint --kill")


def refused(t, img, opts, words, what):
    before = t.live_descendants()
    r = t.run([t.cr_restart] + opts + [img])
    t.check(r.rc == EBUSY and all(w in r.err for w in words),
            f"{what}: cr_restart {' '.join(opts)} must fail with {EBUSY} naming {words}: {r}")
    t.check_no_new_processes(before, what)


def restored(t, img, opts, expect, what):
    """Restart; expect: {saved pid: (pgid, sid)} (processes keep their pids here)."""
    rp = t.start([t.cr_restart] + opts + [img])
    top = min(expect)
    t.require_restored(rp, "python3", f"{what}: no restore", pid=top)
    for pid, want in expect.items():
        t.require(clitest.wait_for(lambda: clitest.is_alive(pid), 5), f"{what}: process {pid} not restored")
        got = ids(pid)
        t.check(got == want, f"{what}: process {pid} has (pgid, sid) {got}, expected {want}")
    t.kill_restored(rp, top)
    for pid in expect:
        if pid != top:
            os.kill(pid, 9)
            t.require(t.wait_pid_free(pid), f"{what}: process {pid} is still there")


def body(t):
    t.require_root("restoring the saved pids needs CAP_CHECKPOINT_RESTORE")
    mine = (os.getpgid(0), os.getsid(0))

    t.section("a session leader and its child")
    s, lead, child = start(t, "leader")
    img = t.path("leader.img")
    checkpoint_killed(t, img, lead, [lead, child])
    s.wait(5)
    refused(t, img, ["--restore-sid"], ["session", str(lead), "--restore-pgid"],
            "--restore-sid without --restore-pgid (a session leader outside cr_restart's group)")
    refused(t, img, ["--no-restore-pid", "--restore-pgid", "--restore-sid"], ["session", str(lead), "--no-restore-pid"],
            "--no-restore-pid --restore-pgid --restore-sid")
    refused(t, img, ["--no-restore-pid", "--restore-pgid"], ["process group", str(lead), "--no-restore-pid"],
            "--no-restore-pid --restore-pgid")
    restored(t, img, [], {lead: mine, child: mine}, "default (cr_restart's group and session)")
    restored(t, img, ["--restore-pgid", "--restore-sid"], {lead: (lead, lead), child: (lead, lead)},
             "--restore-pgid --restore-sid")

    t.section("a process whose session leader is not in the image")
    s, top, _ = start(t, "member")
    img = t.path("member.img")
    checkpoint_killed(t, img, top, [top])
    refused(t, img, ["--restore-pgid", "--restore-sid"], ["session"], "--restore-sid, leader outside the image")
    restored(t, img, ["--restore-pgid"], {top: (top, mine[1])}, "--restore-pgid alone")
    s.kill()

    t.section("a process in cr_restart's own session")
    s, top, _ = start(t, "own_group")
    img = t.path("own.img")
    checkpoint_killed(t, img, top, [top])
    restored(t, img, ["--restore-pgid", "--restore-sid"], {top: (top, mine[1])}, "--restore-sid, cr_restart's session")
    s.kill()


if __name__ == "__main__":
    clitest.main(body)
