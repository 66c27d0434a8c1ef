#!/usr/bin/env python3
"""cr_checkpoint -F 1 --kill PID | cr_restart -F 0: the image streamed through a
pipe restores the process, which continues its counter.  Run twice: with
--no-restore-pid (streaming alone), then as the brief's plain pipeline, which
restores the original pid (free only once --kill has killed the original,
i.e. after the whole image went through the pipe)."""
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def pipeline(t, name, restore_args):
    label = " ".join(["cr_checkpoint -F 1 --kill PID | cr_restart", *restore_args, "-F 0"])
    t.section(label)
    s = t.spin_print(name=name, min_lines=5)
    t.reap_in_background(s)  # free the pid the moment --kill kills it
    ck = t.start([t.cr_checkpoint, "-F", "1", "--kill", s.pid], stdout=subprocess.PIPE)
    rp = t.start([t.cr_restart, *restore_args, "-F", "0"], stdin=ck.popen.stdout)
    ck.popen.stdout.close()

    r1 = ck.wait(60)
    if r1.rc is None:
        ck.kill()
    t.check(r1.rc == 0, f"{label}: cr_checkpoint failed: {r1}")
    if r1.rc == 0:
        try:
            s.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        t.check(s.popen.returncode == -signal.SIGKILL,
                f"{label}: the original should be killed by --kill: {clitest.describe_status(s.popen.returncode)}")
    at_ckpt = s.counters()
    t.log(f"  counter at checkpoint: {at_ckpt[-1] if at_ckpt else None}")

    st = t.wait_restored(rp, "spin_print", pid=None if restore_args else s.pid)
    if not st:
        rp.kill()
        t.check(False, f"{label}: no restored spin_print "
                       f"{'' if restore_args else f'with pid {s.pid} '}under cr_restart: {rp.wait(5)}")
        return
    t.log(f"  restored: {st}")
    t.check_counter_resumed(s, at_ckpt, st.pid, label)
    t.kill_restored(rp, st.pid, label)


def body(t):
    t.require_root("cr_restart restores the original pid, which needs CAP_CHECKPOINT_RESTORE")
    pipeline(t, "spin_newpid", ["--no-restore-pid"])
    pipeline(t, "spin", [])


if __name__ == "__main__":
    clitest.main(body)
