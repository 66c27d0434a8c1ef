#!/usr/bin/env python3
"""-d/--dir DIR (which BLCR never finished): cr_checkpoint -d writes one image
DIR/context.PID per process of the tree, cr_restart -d DIR restores the tree from
them.  A shell with two counting children is checkpointed with --kill and restarted:
both counters go on without a gap.  Each file is a complete image (cr_info reads it;
a one-process checkpoint's file restarts with plain cr_restart FILE).  A missing file
or a file of another checkpoint is refused, naming it, with nothing left running;
bad directories fail with ENOENT / ENOTDIR; -d with -f is EINVAL.  Also as uid 65534."""
import errno
import os
import shutil
import signal
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def counters(path):
    with open(path) as f:
        return [int(l) for l in f.read().split("\n")[:-1] if l.isdigit()]


def body(t):
    t.require_root("the restored processes get their original pids back")
    spin = t.helper("spin_print")
    a_out, b_out = t.path("a.out"), t.path("b.out")
    script = f'"{spin}" > "{a_out}" & "{spin}" > "{b_out}" & wait\n'

    t.section("a shell and two children: three files, restored together")
    sh = t.spawn(["sh", "-c", script], name="tree")
    t.wait_output(sh, lambda: os.path.exists(b_out) and len(counters(a_out)) >= 3 and len(counters(b_out)) >= 3,
                  "counters from both children")
    kids = [st.pid for st in clitest.children_of(sh.pid)]
    t.require(len(kids) == 2, f"expected two children of the shell: {clitest.children_of(sh.pid)}")
    d = t.mkdir("images")
    r = t.run([t.cr_checkpoint, "--kill", "-d", d, sh.pid])
    t.require(r.rc == 0, f"cr_checkpoint -d failed: {r}")
    sh.wait(5)
    names = sorted(os.listdir(d))
    want = sorted(f"context.{p}" for p in [sh.pid, *kids])
    t.require(names == want, f"expected exactly {want} in {d}, found {names}")
    for n in names:
        with open(os.path.join(d, n), "rb") as f:
            t.check(f.read(8) == clitest.IMAGE_MAGIC, f"{n} is not an image")
        t.check(os.stat(os.path.join(d, n)).st_mode & 0o777 == 0o400, f"{n} should be mode 0400")
        r = t.run([t.tool("cr_info"), os.path.join(d, n)])
        t.check(r.rc == 0, f"cr_info {n}: {r}")
    at_a, at_b = counters(a_out), counters(b_out)
    for p in kids:
        t.check(clitest.wait_for(lambda: not clitest.is_alive(p), 5), f"child {p} still alive after --kill")
    t.reap_zombie_orphans()

    t.section("a missing file is refused before anything runs")
    saved = t.path("saved-context")
    shutil.move(os.path.join(d, f"context.{kids[1]}"), saved)
    before = set(t.live_descendants())
    r = t.run([t.cr_restart, "-d", d])
    t.check(r.rc == errno.ENOENT and f"context.{kids[1]}" in r.err, f"expected ENOENT naming the missing file: {r}")
    t.check_no_new_processes(before, "restart with a file missing")
    shutil.move(saved, os.path.join(d, f"context.{kids[1]}"))

    t.section("cr_restart -d restores the tree")
    rp = t.start([t.cr_restart, "-d", d])
    t.require_restored(rp, "sh", pid=sh.pid, failure="cr_restart -d did not restore the shell")
    for p in kids:
        t.track_pid(p, "spin_print")
    for path, at in ((a_out, at_a), (b_out, at_b)):
        ok = clitest.wait_for(lambda: len(counters(path)) >= len(at) + 5, 10)
        nums = counters(path)
        t.check(ok and nums[len(at)] == at[-1] + 1 and clitest.contiguity_error(nums) is None,
                f"{os.path.basename(path)}: counter did not go on after the restart ({at[-3:]} then {nums[len(at):len(at) + 3]})")
    for p in kids:
        st = clitest.read_stat(p)
        t.check(st and st.ppid == sh.pid, f"restored child {p} should be a child of the shell {sh.pid}: {st}")
    for p in kids:
        os.kill(p, signal.SIGKILL)
    r = rp.wait(10)
    t.check(r.rc == 0, f"cr_restart should exit as the shell (0 once its children are gone): {r}")

    t.section("a file of another checkpoint in the directory is refused")
    s = t.spin_print(name="other")
    r = t.run([t.cr_checkpoint, "-f", os.path.join(d, f"context.{s.pid}"), s.pid])
    t.require(r.rc == 0, f"checkpoint of another process failed: {r}")
    r = t.run([t.cr_restart, "-d", d])
    t.check(r.rc == errno.EINVAL and "different checkpoints" in r.err, f"expected EINVAL about mixed files: {r}")

    t.section("a one-process checkpoint's file restarts on its own")
    d1 = t.mkdir("single")
    r = t.run([t.cr_checkpoint, "--kill", "-d", d1, s.pid])
    t.require(r.rc == 0, f"cr_checkpoint -d of one process failed: {r}")
    at = s.counters()
    s.wait(5)
    rp = t.start([t.cr_restart, os.path.join(d1, f"context.{s.pid}")])
    t.require_restored(rp, "spin_print", pid=s.pid, failure="the single file did not restore")
    t.check_counter_resumed(s, at, s.pid, "single file")
    t.kill_restored(rp, s.pid, "single file")

    t.section("bad directories and two destinations")
    r = t.run([t.cr_checkpoint, "-d", t.path("no-such-dir"), os.getpid()])
    t.check(r.rc == errno.ENOENT, f"-d of a missing directory: expected ENOENT: {r}")
    r = t.run([t.cr_checkpoint, "-d", a_out, os.getpid()])
    t.check(r.rc == errno.ENOTDIR, f"-d of a file: expected ENOTDIR: {r}")
    r = t.run([t.cr_checkpoint, "-d", d1, "-f", t.path("x"), os.getpid()])
    t.check(r.rc == errno.EINVAL, f"-d with -f: expected EINVAL: {r}")
    r = t.run([t.cr_restart, "-d", d1, "-f", t.path("x")])
    t.check(r.rc == errno.EINVAL, f"cr_restart -d with -f: expected EINVAL: {r}")
    r = t.run([t.cr_restart, "-d", d1, t.path("x")])
    t.check(r.rc == 255, f"cr_restart -d with a file name too: a usage error (255): {r}")
    r = t.run([t.cr_restart, "-d", t.path("no-such-dir")])
    t.check(r.rc == errno.ENOENT, f"cr_restart -d of a missing directory: expected ENOENT: {r}")
    empty = t.mkdir("empty")
    r = t.run([t.cr_restart, "-d", empty])
    t.check(r.rc == errno.ENOENT and "context.PID" in r.err, f"cr_restart -d of an empty directory: {r}")

    t.section("as uid 65534")
    du = t.mkdir("user", mode=0o777)
    s = t.spin_print(name="user", user=True)
    r = t.run([t.cr_checkpoint, "--kill", "-d", du, s.pid], user=True)
    t.require(r.rc == 0, f"cr_checkpoint -d as uid 65534 failed: {r}")
    at = s.counters()
    s.wait(5)
    rp = t.start([t.cr_restart, "--no-restore-pid", "-d", du], user=True)
    st = t.wait_restored(rp, "spin_print")
    if not st:
        t.fail_now(f"cr_restart -d as uid 65534 did not restore: {rp.wait(5)}")
    t.check(clitest.wait_for(lambda: len(s.counters()) >= len(at) + 5, 10) and s.counters()[len(at)] == at[-1] + 1,
            f"uid 65534: the counter did not go on ({at[-2:]} then {s.counters()[len(at):len(at) + 3]})")
    t.kill_restored(rp, st.pid, "uid 65534")


if __name__ == "__main__":
    clitest.main(body)
