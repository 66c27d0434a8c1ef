#!/usr/bin/env python3
"""cr_restart's event hooks (BLCR-API.md 3.3): --run-on-fail-args / -temp / -env /
-perm run for their errno category only (args: bad options or an unreadable image;
temp: EBUSY, a pid in use; env: ENOENT, a file of the image missing; perm: a corrupt
image); a hook that exits non-zero gives cr_restart its exit code and nothing is
printed; a hook exiting 0 leaves the normal error.  --run-on-failure sets all four.
--run-on-success runs once the process runs; a failing one makes cr_restart exit at
once with its code while the restored process runs on."""
import os
import shlex
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    t.require_root("the restored copy gets the original pid back")
    log = t.path("hooks.log")

    def hook(name, code):
        return f"echo {name} >> {shlex.quote(log)}; exit {code}"

    def all_hooks(codes):
        """Every failure hook set, each logging its name and exiting codes[name]."""
        return [f"--run-on-fail-{n}={hook(n, codes.get(n, 0))}" for n in ("args", "temp", "env", "perm")]

    def ran():
        try:
            with open(log) as f:
                out = f.read().split()
        except FileNotFoundError:
            out = []
        if os.path.exists(log):
            os.unlink(log)
        return out

    missing = t.path("no-such-image")
    t.section("args: a missing image runs the args hook only; its code is the exit code, nothing printed")
    r = t.run([t.cr_restart, *all_hooks({"args": 7, "env": 8}), missing])
    t.check(r.rc == 7, f"args hook exit 7 should be cr_restart's exit code: {r}")
    t.check(r.err == "", f"nothing should be printed when the hook fails: {r}")
    t.check(ran() == ["args"], "only the args hook should have run")

    t.section("args hook as uid 65534")
    r = t.run([t.cr_restart, f"--run-on-fail-args=exit 6", missing], user=True)
    t.check(r.rc == 6 and r.err == "", f"uid 65534: args hook exit 6 expected: {r}")

    t.section("args: an unknown option runs the args hook")
    r = t.run([t.cr_restart, f"--run-on-fail-args={hook('args', 9)}", "--no-such-option", missing])
    t.check(r.rc == 9, f"args hook on a usage error: expected exit 9: {r}")
    t.check(ran() == ["args"], "the args hook should have run on a usage error")

    t.section("a hook exiting 0: the normal error (exit 2, message)")
    r = t.run([t.cr_restart, f"--run-on-fail-args={hook('args', 0)}", missing])
    t.check(r.rc == 2 and missing in r.err, f"expected exit 2 and a message naming the image: {r}")
    t.check(ran() == ["args"], "the args hook should have run")

    t.section("temp: the pid is in use (EBUSY)")
    s = t.spin_print(name="busy")
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    r = t.run([t.cr_restart, *all_hooks({"temp": 13, "perm": 14}), img])
    t.check(r.rc == 13 and r.err == "", f"temp hook: expected exit 13 and no message: {r}")
    t.check(ran() == ["temp"], "only the temp hook should have run on EBUSY")
    r = t.run([t.cr_restart, f"--run-on-failure={hook('any', 15)}", img])
    t.check(r.rc == 15, f"--run-on-failure should cover a temp failure: {r}")
    t.check(ran() == ["any"], "the --run-on-failure hook should have run")
    r = t.run([t.cr_restart, f"--run-on-fail-perm={hook('perm', 14)}", img])
    t.check(r.rc == 16 and "in use" in r.err, f"only a perm hook set: EBUSY exits 16 with a message: {r}")
    t.check(ran() == [], "the perm hook must not run for EBUSY")
    at_ckpt = s.counters()
    t.kill_subject(s)

    t.section("perm: a truncated image")
    with open(img, "rb") as f:
        data = f.read()
    bad = t.path("truncated")
    with open(bad, "wb") as f:
        f.write(data[:len(data) // 2])
    r = t.run([t.cr_restart, *all_hooks({"perm": 14, "args": 7}), bad])
    t.check(r.rc == 14 and r.err == "", f"perm hook: expected exit 14 and no message: {r}")
    t.check(ran() == ["perm"], "only the perm hook should have run on a corrupt image")

    t.section("success: the hook runs once the process runs, and cr_restart stays its parent")
    rp = t.start([t.cr_restart, f"--run-on-success={hook('success', 0)}", img])
    t.require_restored(rp, "spin_print", pid=s.pid, failure="restart with a success hook failed")
    t.check(clitest.wait_for(lambda: os.path.exists(log), 5), "the success hook did not run")
    t.check(ran() == ["success"], "the success hook should have run once")
    t.check_counter_resumed(s, at_ckpt, s.pid, "with a success hook")
    t.kill_restored(rp, s.pid, "success hook")

    t.section("success hook exiting 5: cr_restart exits 5 at once, the process runs on")
    r = t.run([t.cr_restart, f"--run-on-success={hook('success', 5)}", img], timeout=20)
    t.check(r.rc == 5, f"a failing success hook should end cr_restart with its code: {r}")
    t.track_pid(s.pid, "spin_print")
    t.check(clitest.is_alive(s.pid), "the restored process should run on after cr_restart left")
    t.check(ran() == ["success"], "the success hook should have run")

    t.section("env: a file the process had open is missing (ENOENT)")
    data_file = t.path("held")
    with open(data_file, "w") as f:
        f.write("x\n")
    h = t.spawn([t.helper("hold_file"), data_file], name="hold")
    t.wait_output(h, lambda: "opened" in h.lines(), "opened")
    img2 = t.path("img2")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img2, h.pid])
    t.require(r.rc == 0, f"checkpoint of hold_file failed: {r}")
    h.wait(5)
    os.unlink(data_file)
    r = t.run([t.cr_restart, *all_hooks({"env": 11, "perm": 12}), img2])
    t.check(r.rc == 11 and r.err == "", f"env hook: expected exit 11 and no message: {r}")
    t.check(ran() == ["env"], "only the env hook should have run for a missing file")


if __name__ == "__main__":
    clitest.main(body)
