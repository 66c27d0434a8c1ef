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
    st = t.wait_restored(rp, "spin_print")
    if not st:
        rp.kill()
        t.fail_now(f"no restored spin_print appeared under cr_restart (pid {rp.pid}): {rp.wait(5)}")
    t.log(f"  restored as {st}")
    t.check(clitest.real_uid(st.pid) == clitest.NOBODY_UID,
            f"restored process runs as uid {clitest.real_uid(st.pid)}, expected {clitest.NOBODY_UID}")
    target = at_ckpt[-1] + 5
    t.check(clitest.wait_for(lambda: (s.last_counter() or -1) >= target, 10),
            f"restored process did not continue the counter to {target} (last {s.last_counter()}, "
            f"{t.state_desc(st.pid)})")
    nums = s.counters()
    t.check(nums[:len(at_ckpt)] == at_ckpt, "output before the checkpoint was modified")
    t.check(len(nums) > len(at_ckpt) and nums[len(at_ckpt)] == at_ckpt[-1] + 1,
            f"first number after the restore should be {at_ckpt[-1] + 1}, "
            f"got {nums[len(at_ckpt):len(at_ckpt) + 3]}")
    err = clitest.contiguity_error(nums)
    t.check(err is None, f"counter has a gap or a repeat: {err}")
    os.kill(st.pid, signal.SIGKILL)
    r = rp.wait(10)
    t.check(r.rc == -signal.SIGKILL, f"cr_restart should die of SIGKILL like the restored process: {r}")
    if r.rc is None:
        rp.kill()


if __name__ == "__main__":
    clitest.main(body)
