#!/usr/bin/env python3
"""cr_restart --kmsg-none / --kmsg-error (default) / --kmsg-warning: the restart's
warnings (here: a file the process had open is now shorter than its saved offset)
are listed on stderr, each prefixed "- ", never / only when the restart fails (a pid
in use: EBUSY) / always; by default a successful restart shows them as plain
warnings, --kmsg-none not at all; --quiet prints nothing at all; a failure hook that
exits non-zero leaves stderr empty."""
import errno
import os
import signal
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def kmsg_lines(err):
    return [line for line in err.splitlines() if line.startswith("- ")]


def body(t):
    t.require_root("the restored copy gets the original pid back")
    data = t.path("data.txt")
    with open(data, "w") as f:
        f.write("one\ntwo\nthree\n")
    h = t.spawn([t.helper("hold_file"), data], name="hold")
    t.wait_output(h, lambda: "opened" in h.lines(), "opened")
    os.kill(h.pid, signal.SIGUSR1)
    t.wait_output(h, lambda: "line: one" in h.lines(), "line: one")
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img, h.pid])
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    h.wait(5)
    open(data, "w").close()  # now shorter than the saved offset: a restart warning

    def restart(label, *opts):
        rp = t.start([t.cr_restart, *opts, img])
        t.require_restored(rp, "hold_file", pid=h.pid, failure=f"{label}: no restore")
        return rp

    def stop(rp, label):
        t.kill_restored(rp, h.pid, label)
        t.wait_pid_free(h.pid)
        r = rp.wait(1)
        t.log(f"    {label}: log lines {kmsg_lines(r.err)}")
        return r

    t.section("default (--kmsg-error): the warning is printed, not listed, on success")
    r = stop(restart("default"), "default")
    t.check("shorter" in r.err and not kmsg_lines(r.err), f"default: warning expected, no '- ' lines: {r}")

    t.section("--kmsg-warning: listed on success")
    r = stop(restart("warning", "--kmsg-warning"), "warning")
    t.check(any("shorter" in line for line in kmsg_lines(r.err)) and "warning:" not in r.err,
            f"--kmsg-warning: a '- ' line (instead of the plain warning) expected: {r}")

    t.section("--kmsg-none: not shown at all")
    r = stop(restart("none", "--kmsg-none"), "none")
    t.check("shorter" not in r.err, f"--kmsg-none: the warning should not be shown: {r}")

    t.section("--quiet: nothing on stderr")
    r = stop(restart("quiet", "--quiet", "--kmsg-warning"), "quiet")
    t.check(r.err == "", f"--quiet: stderr should be empty: {r}")

    t.section("a failed restart (the pid in use): listed by default, not with --kmsg-none")
    rp = restart("holder")
    r = t.run([t.cr_restart, img])
    t.check(r.rc == errno.EBUSY and any("shorter" in line for line in kmsg_lines(r.err)),
            f"default on failure: exit 16 and a '- ' line expected: {r}")
    r = t.run([t.cr_restart, "--kmsg-none", img])
    t.check(r.rc == errno.EBUSY and "shorter" not in r.err and "in use" in r.err,
            f"--kmsg-none on failure: only the failure, no warning: {r}")
    r = t.run([t.cr_restart, "--run-on-fail-temp=exit 3", img])
    t.check(r.rc == 3 and r.err == "", f"a failing hook: its code and nothing printed, log included: {r}")
    stop(rp, "holder")


if __name__ == "__main__":
    clitest.main(body)
