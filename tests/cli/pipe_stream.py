#!/usr/bin/env python3
"""cr_checkpoint -F 1 --kill PID | cr_restart -F 0: the image streamed through a
pipe restores the process (original pid) which continues its counter."""
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def body(t):
    t.require_root("cr_restart restores the original pid, which needs CAP_CHECKPOINT_RESTORE")
    s = t.spin_print(min_lines=5)
    t.reap_in_background(s)  # free the pid the moment --kill kills it
    ck = t.start([t.cr_checkpoint, "-F", "1", "--kill", s.pid], stdout=subprocess.PIPE)
    rp = t.start([t.cr_restart, "-F", "0"], stdin=ck.popen.stdout)
    ck.popen.stdout.close()

    r1 = ck.wait(60)
    t.check(r1.rc == 0, f"cr_checkpoint -F 1 --kill failed: {r1}")
    try:
        s.popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    t.check(s.popen.returncode == -signal.SIGKILL,
            f"the original should be killed by --kill: {clitest.describe_status(s.popen.returncode)}")
    at_ckpt = s.counters()
    t.log(f"  counter at checkpoint: {at_ckpt[-1] if at_ckpt else None}")

    st = t.wait_restored(rp.pid, "spin_print", pid=s.pid)
    if not st:
        rp.kill()
        t.fail_now(f"pid {s.pid} was not restored under cr_restart (pid {rp.pid}): {rp.wait(5)}")
    target = at_ckpt[-1] + 5
    t.check(clitest.wait_for(lambda: (s.last_counter() or -1) >= target, 10),
            f"restored process did not continue the counter to {target} (last {s.last_counter()}, "
            f"{t.state_desc(s.pid)})")
    nums = s.counters()
    t.check(len(nums) > len(at_ckpt) and nums[len(at_ckpt)] == at_ckpt[-1] + 1,
            f"first number after the restore should be {at_ckpt[-1] + 1}, got {nums[len(at_ckpt):len(at_ckpt) + 3]}")
    err = clitest.contiguity_error(nums)
    t.check(err is None, f"counter has a gap or a repeat: {err}")
    t.check_running(s, "restored process")
    os.kill(s.pid, signal.SIGKILL)
    r2 = rp.wait(10)
    t.check(r2.rc == -signal.SIGKILL, f"cr_restart should die of SIGKILL like the restored process: {r2}")
    if r2.rc is None:
        rp.kill()


if __name__ == "__main__":
    clitest.main(body)
