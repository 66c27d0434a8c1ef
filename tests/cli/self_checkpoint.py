#!/usr/bin/env python3
"""A program or script that checkpoints itself through cr_checkpoint finds its child
and a success after a restart (BLCR's fork structure, BLCR-API.md 3.2): when the
process that ran cr_checkpoint is in the scope, cr_checkpoint forks, its waiting half
is checkpointed with the caller, blocked in wait4(), and in the restarted copy exits 0.

Before the fix cr_checkpoint left itself out entirely, so the restarted caller had no
child: `sh -c 'cr_checkpoint -f ctx $$; echo $?'` printed 255 after the restart and
Python's os.system() returned 65280 (exit 255) instead of 0.
Each subject appends to its output file (the restored copy's writes are appended, not
written over the original's)."""
import os
import signal
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def lines(path):
    with open(path) as f:
        return f.read().split()


def run_appending(t, argv, out, timeout=30):
    with open(out, "ab") as f:
        return t.run(argv, stdout=f, timeout=timeout)


def restart(t, img, out, what):
    r = run_appending(t, [t.cr_restart, img], out)
    t.check(r.rc == 0, f"{what}: cr_restart (mirroring the restarted caller) should exit 0: {r}")


def body(t):
    t.require_root("restoring the saved pids needs CAP_CHECKPOINT_RESTORE")
    ck = t.cr_checkpoint

    t.section("sh -c 'cr_checkpoint -f ctx $$; echo rc=$?'")
    img, out = t.path("sh.img"), t.path("sh.out")
    r = run_appending(t, ["sh", "-c", f"{ck} -f {img} $$; echo rc=$?"], out)
    t.require(r.rc == 0 and lines(out) == ["rc=0"], f"the checkpoint run: {r}, output {lines(out)}")
    restart(t, img, out, "sh")
    t.check(lines(out) == ["rc=0", "rc=0"], f"the restarted shell should print rc=0 again: {lines(out)}")

    t.section("python3: os.system('cr_checkpoint ... <own pid>')")
    img, out = t.path("py.img"), t.path("py.out")
    prog = f"import os; r = os.system('{ck} -f {img} %d' % os.getpid()); print('system', r, flush=True)"
    r = run_appending(t, ["python3", "-c", prog], out)
    t.require(r.rc == 0 and lines(out) == ["system", "0"], f"the checkpoint run: {r}, output {lines(out)}")
    restart(t, img, out, "python3")
    t.check(lines(out) == ["system", "0", "system", "0"], f"os.system() should return 0 after the restart: {lines(out)}")

    t.section("sh -c 'cr_checkpoint --kill -f ctx $$; echo rc=$?' (a script ending itself)")
    img, out = t.path("kill.img"), t.path("kill.out")
    r = run_appending(t, ["sh", "-c", f"{ck} --kill -f {img} $$; echo rc=$?"], out)
    t.require(r.rc == -signal.SIGKILL and lines(out) == [], f"the shell should be killed silently: {r}, {lines(out)}")
    t.require(os.path.exists(img), "no image")
    # cr_checkpoint's waiting half was killed with the shell: its zombie is ours (the
    # subreaper) to reap, as a shell's parent would.
    clitest.wait_for(lambda: (t.reap_zombie_orphans(), not t.live_descendants())[1], 5)
    t.reap_zombie_orphans()
    restart(t, img, out, "sh --kill")
    t.check(lines(out) == ["rc=0"], f"the restarted shell should print rc=0 once: {lines(out)}")


if __name__ == "__main__":
    clitest.main(body)
