#!/usr/bin/env python3
"""cr_restart inside later checkpoints (BLCR-API.md 3.3), through its libcr callback:
--omit-maybe (default): `cr_checkpoint --tree <cr_restart>` leaves cr_restart out (it
  is the target) but takes the process it restored (cr_forward_checkpoint), and that
  image restarts;
--omit-never: cr_restart is in the image too, and the restart brings back both,
  cr_restart again the parent of the process;
--omit-always: checkpointing the shell that runs cr_restart leaves cr_restart out but
  takes the restored process; --omit-maybe in the same place keeps cr_restart in."""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def comms(t, img):
    r = subprocess.run([t.tool("cr_info"), "--json", img], capture_output=True, text=True)
    t.check(r.returncode == 0, f"cr_info {img} failed: {r.stderr}")
    return sorted(p["process"]["comm"] for p in json.loads(r.stdout)["processes"]) if r.returncode == 0 else []


def restored_and_released(pid, parent_comm):
    """The restore of pid is over: it runs, untraced, under a cr_restart (a checkpoint
    before that finds it busy-locked by the restore: EBUSY)."""
    st = clitest.read_stat(pid)
    parent = clitest.read_stat(st.ppid) if st else None
    return (st is not None and st.comm == "spin_print" and clitest.tracer_pid(pid) == 0 and parent is not None
            and parent.comm == parent_comm)


def body(t):
    t.require_root("the restored processes get their original pids back")
    s = t.spin_print(name="omit")
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    s.wait(5)

    def restart_then_checkpoint(label, opts):
        # (spawn: its descriptors are named files, which a checkpoint of cr_restart
        # itself can reopen at restart.)
        rp = t.spawn([t.cr_restart, *opts, img], name=f"cr_restart-{label}")
        t.require_restored(rp, "spin_print", pid=s.pid, failure=f"{label}: no restore")
        t.require(clitest.wait_for(lambda: restored_and_released(s.pid, "cr_restart"), 10), f"{label}: restore not over")
        with open(f"/proc/{rp.pid}/maps") as f:
            t.require("libcr.so" in f.read(), f"{label}: cr_restart did not load libcr (not found beside it?)")
        img2 = t.path(f"img.{label}")
        r = t.run([t.cr_checkpoint, "--kill", "--tree", "-f", img2, rp.pid])
        t.require(r.rc == 0, f"{label}: checkpoint of cr_restart's tree failed: {r}")
        return rp, img2

    t.section("--omit-maybe (default): cr_checkpoint --tree <cr_restart> takes only what it restored")
    rp, img2 = restart_then_checkpoint("maybe", [])
    t.check(comms(t, img2) == ["spin_print"], f"the image should hold spin_print only: {comms(t, img2)}")
    r = rp.wait(10)
    t.check(r.rc == -9, f"cr_restart (left out) should mirror its child's SIGKILL: {r}")
    t.require(t.wait_pid_free(s.pid), f"pid {s.pid} was not freed")
    at = s.counters()
    rp = t.start([t.cr_restart, img2])
    t.require_restored(rp, "spin_print", pid=s.pid, failure="the image without cr_restart did not restart")
    t.check_counter_resumed(s, at, s.pid, "after --omit-maybe")
    t.kill_restored(rp, s.pid, "after --omit-maybe")

    t.section("--omit-never: cr_restart is checkpointed with its child and both come back")
    rp, img3 = restart_then_checkpoint("never", ["--omit-never"])
    t.check(comms(t, img3) == ["cr_restart", "spin_print"], f"the image should hold both: {comms(t, img3)}")
    inner = rp.pid
    rp.wait(10)
    t.require(t.wait_pid_free(s.pid) and t.wait_pid_free(inner), "the killed processes' pids were not freed")
    at = s.counters()
    outer = t.start([t.cr_restart, img3])
    st = t.wait_restored(outer, "cr_restart", pid=inner)
    if not st:
        t.fail_now(f"the inner cr_restart did not come back as pid {inner}: {outer.wait(5)}")
    child = clitest.read_stat(s.pid)
    t.check(child and child.ppid == inner, f"spin_print should be the restored cr_restart's child: {child}")
    t.track_pid(s.pid, "spin_print")
    t.check_counter_resumed(s, at, s.pid, "after --omit-never")
    os.kill(s.pid, 9)
    r = outer.wait(10)
    t.check(r.rc == -9, f"both cr_restarts should mirror the SIGKILL: {r}")

    for opt, want in (("--omit-always", ["sh", "spin_print"]), ("--omit-maybe", ["cr_restart", "sh", "spin_print"])):
        t.section(f"{opt}: a checkpoint of the shell running cr_restart")
        sh = t.spawn(["sh", "-c", f'"{t.cr_restart}" {opt} "{img}"; echo done'], name=f"sh{opt}")
        ok = clitest.wait_for(lambda: restored_and_released(s.pid, "cr_restart"), 10)
        t.require(ok, f"{opt}: the restart under the shell did not happen")
        t.track_pid(s.pid, "spin_print")
        img4 = t.path(f"img.sh{opt}")
        r = t.run([t.cr_checkpoint, "--kill", "--tree", "-f", img4, sh.pid])
        t.require(r.rc == 0, f"{opt}: checkpoint of the shell failed: {r}")
        t.check(comms(t, img4) == want, f"{opt}: the image should hold {want}: {comms(t, img4)}")
        sh.wait(10)
        t.require(t.wait_pid_free(s.pid), f"pid {s.pid} was not freed")


if __name__ == "__main__":
    clitest.main(body)
