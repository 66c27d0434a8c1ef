#!/usr/bin/env python3
"""Shell scripts and the tools (BLCR-API.md 3.2, 3.3):
1. `cr_checkpoint --tree $$` from a shell checkpoints that shell with cr_checkpoint's
   waiting half (BLCR's fork; the worker leaves itself out); after the restart the
   waiting half exits 0 and the script goes on: the restarted run prints exactly what
   an uninterrupted run prints, cr_checkpoint's status 0 included, and exits with its
   status (bash and sh).
2. A shell script that runs cr_restart can be checkpointed whole (shell, cr_restart
   and the process cr_restart restored) and restarted: the inner restart goes on
   to its end and the script reports its status."""
import os
import signal
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

SELF_SCRIPT = r"""
echo "start"
i=0
while [ $i -lt 3 ]; do echo "before $i"; i=$((i+1)); done
"$CR_CHECKPOINT" $CR_EXTRA --tree $$ -f "$CR_IMAGE"
STATUS_LINE
for w in x y; do echo "after $w"; done
exit 7
"""

TICKS = 40


def pid_free(t, pid):
    """True once pid is gone; a zombie re-parented to us (the subreaper) is reaped,
    even one that reuses the pid of a subject we reaped before."""
    t.reap_zombie_orphans()
    if clitest.proc_state(pid) == "Z":
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    return not os.path.exists(f"/proc/{pid}")


def body(t):
    t.require_root("the restored processes get their original pids back")

    for shell in ("bash", "sh"):
        t.section(f"{shell}: a script that checkpoints itself with cr_checkpoint --tree $$")
        script = t.path(f"self.{shell}")
        status = 'echo "cr_checkpoint status $?"'
        with open(script, "w") as f:
            f.write(SELF_SCRIPT.replace("STATUS_LINE", status))

        def run(name, extra):
            env = dict(os.environ, CR_CHECKPOINT=t.cr_checkpoint, CR_EXTRA=extra, CR_IMAGE=t.path(f"img.{name}"))
            old = dict(os.environ)
            os.environ.update(env)
            try:
                return t.spawn([shell, script], name=name)
            finally:
                os.environ.clear()
                os.environ.update(old)

        ref = run(f"ref-{shell}", "")
        r = ref.wait(20)
        t.require(r.rc == 7, f"{shell}: the uninterrupted run should exit 7: {r}; output {ref.text()!r}")
        expected = ref.text()
        t.require("after y" in expected and "before 2" in expected, f"{shell}: reference output {expected!r}")

        s = run(f"self-{shell}", "--kill")
        r = s.wait(20)
        t.check(r.rc == -signal.SIGKILL, f"{shell}: the script should die at its checkpoint (--kill): {r}")
        t.check("after" not in s.text(), f"{shell}: the killed script went on: {s.text()!r}")
        clitest.wait_for(lambda: pid_free(t, s.pid), 5)
        r = t.run([t.cr_restart, t.path(f"img.self-{shell}")], timeout=20)
        t.check(r.rc == 7, f"{shell}: the restarted script should exit 7 like the uninterrupted run: {r}")
        t.check(s.text() == expected, f"{shell}: restarted output {s.text()!r} differs from {expected!r}")
        if shell == "bash":
            expected_bash = expected

    t.section("uid 65534: a bash script checkpointing itself, restarted with fresh pids")
    d = t.mkdir("nobody", mode=0o777)
    script = os.path.join(d, "self.bash")
    with open(script, "w") as f:
        f.write(SELF_SCRIPT.replace("STATUS_LINE", 'echo "cr_checkpoint status $?"'))
    os.chmod(script, 0o755)
    img = os.path.join(d, "img")
    old = dict(os.environ)
    os.environ.update(CR_CHECKPOINT=t.cr_checkpoint, CR_EXTRA="--kill", CR_IMAGE=img)
    try:
        s = t.spawn(["bash", script], name="self-nobody", user=True)
    finally:
        os.environ.clear()
        os.environ.update(old)
    r = s.wait(20)
    t.check(r.rc == -signal.SIGKILL, f"uid 65534: the script should die at its checkpoint: {r}")
    r = t.run([t.cr_restart, "--no-restore-pid", img], timeout=20, user=True)
    t.check(r.rc == 7, f"uid 65534: the restarted script should exit 7: {r}")
    t.check(s.text() == expected_bash, f"uid 65534: restarted output {s.text()!r} differs from {expected_bash!r}")

    t.section("a script running cr_restart is checkpointed whole and restarted")
    d = t.mkdir("inner")
    priv, shared = os.path.join(d, "private.txt"), os.path.join(d, "shared.txt")
    with open(priv, "w") as f:
        f.write("private-data\n")
    with open(shared, "wb") as f:
        f.write(b"shared-000\n".ljust(4096, b"\0"))
    a = t.spawn([t.helper("mapped_files"), priv, shared, TICKS], name="inner")
    t.wait_output(a, lambda: "tick 3" in a.text(), "tick 3")
    img1 = t.path("img.inner")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img1, a.pid])
    t.require(r.rc == 0, f"checkpoint of the inner process failed: {r}")
    a.wait(5)
    script = t.path("outer.sh")
    with open(script, "w") as f:
        f.write(f'echo "outer start"\n"{t.cr_restart}" "{img1}"\necho "inner status $?"\nexit 5\n')
    b = t.spawn(["bash", script], name="outer")
    t.wait_output(b, lambda: "tick 10" in a.text(), "tick 10 of the inner restart", timeout=15)
    inner = [st for st in clitest.descendants_of(b.pid)]
    t.log(f"    under the script: {inner}")
    t.require(any(st.comm == "cr_restart" for st in inner) and any(st.pid == a.pid for st in inner),
              f"expected cr_restart and pid {a.pid} under the script: {inner}")
    img2 = t.path("img.outer")
    r = t.run([t.cr_checkpoint, "--kill", "--tree", "-f", img2, b.pid])
    t.require(r.rc == 0, f"checkpoint of the whole script failed: {r}")
    b.wait(5)
    ticks_at_ckpt = a.text().count("tick ")
    t.check(ticks_at_ckpt < TICKS, f"the inner process ran to its end before the checkpoint ({ticks_at_ckpt})")
    for st in inner:
        t.check(clitest.wait_for(lambda: pid_free(t, st.pid), 5), f"pid {st.pid} ({st.comm}) not freed")
    r = t.run([t.cr_restart, img2], timeout=30)
    t.check(r.rc == 5, f"the restarted script should exit 5: {r}")
    t.check(b.text() == f"outer start\ninner status {40 + TICKS % 50}\n",
            f"the restarted script's output: {b.text()!r}")
    lines = a.text().splitlines()
    nums = [int(line.split()[1]) for line in lines if line.startswith("tick ")]
    t.check(nums == list(range(1, TICKS + 1)), f"the inner process's ticks: {nums}")


if __name__ == "__main__":
    clitest.main(body)
