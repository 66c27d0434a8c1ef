#!/usr/bin/env python3
"""Everything as uid 65534: checkpoint one's own process with --kill; restoring
it with its original pid is refused (exit 1, message names
CAP_CHECKPOINT_RESTORE and --no-restore-pid); with --no-restore-pid it is
restored under a new pid, as uid 65534, and continues its counter exactly
where it stopped."""
import os
import signal
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    t.require_root("it switches to uid 65534 with setpriv")
    for tool in (t.cr_checkpoint, t.cr_restart, t.helper("spin_print")):
        t.require_usable_by_nobody(tool)
    os.chmod(t.scratch, 0o777)

    t.section("start spin_print as uid 65534 and checkpoint it as that user with --kill")
    s = t.spin_print(user=True, min_lines=5)
    t.require(clitest.real_uid(s.pid) == clitest.NOBODY_UID, f"subject runs as uid {clitest.real_uid(s.pid)}")
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img, s.pid], user=True)
    t.require(r.rc == 0, f"unprivileged checkpoint of one's own process failed: {r}")
    t.expect_death(s, signal.SIGKILL)
    t.require(os.path.isfile(img), "no image written")
    t.check(os.stat(img).st_uid == clitest.NOBODY_UID, f"image owned by uid {os.stat(img).st_uid}")
    at_ckpt = s.counters()
    t.require(len(at_ckpt) >= 5, f"too little output before the checkpoint: {at_ckpt}")
    t.log(f"  counter at checkpoint: {at_ckpt[-1]}")

    t.section("cr_restart img (original pid) as uid 65534 is refused")
    before = set(t.live_descendants())
    r = t.run([t.cr_restart, img], user=True)
    t.check(r.rc == 1, f"expected exit 1 (EPERM): {r}")
    t.check("CAP_CHECKPOINT_RESTORE" in r.err, f"message should mention CAP_CHECKPOINT_RESTORE: {r}")
    t.check("--no-restore-pid" in r.err, f"message should suggest --no-restore-pid: {r}")
    t.check_no_new_processes(before, "refused restore")
    t.check_not_restored(s.pid, "spin_print", "refused restore")
    t.check(s.counters() == at_ckpt, "the refused restore wrote to the output file")

    t.section("cr_restart --no-restore-pid img as uid 65534")
    rp = t.start([t.cr_restart, "--no-restore-pid", img], user=True)
    st = t.require_restored(rp, "spin_print",
                            failure=f"no restored spin_print appeared under cr_restart (pid {rp.pid})")
    t.log(f"  restored as {st}")
    t.check(clitest.real_uid(st.pid) == clitest.NOBODY_UID,
            f"restored process runs as uid {clitest.real_uid(st.pid)}, expected {clitest.NOBODY_UID}")
    nums = t.check_counter_resumed(s, at_ckpt, st.pid)
    t.check(nums[:len(at_ckpt)] == at_ckpt, "output before the checkpoint was modified")
    t.kill_restored(rp, st.pid)


if __name__ == "__main__":
    clitest.main(body)
