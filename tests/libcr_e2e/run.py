#!/usr/bin/env python3
"""BLCR's self-checkpoint pattern end to end (issue 4, item 2).

Runs self_checkpoint (linked with libcr): it checkpoints itself through
cr_request_checkpoint into NAME.new, polls, and renames NAME.new over NAME. Then
restarts NAME with cr_restart. Judged by behaviour:
  - the original run prints "continued" at the checkpoint and exits 7;
  - NAME exists, NAME.new does not;
  - the restarted copy prints "restarted" (CR_POLL_CHKPT_ERR_POST with CR_ERESTARTED),
    finds the image's own descriptor closed, then prints exactly what the original
    printed after its checkpoint, and cr_restart exits 7.
--user nobody runs the whole thing as uid 65534 (no privilege: cr_restart
--no-restore-pid). The runner is a child subreaper and ends every process it
started by pid.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import become_subreaper, fail, reap_all  # noqa: E402

NOBODY = 65534




def run(argv, env, out_path, user, timeout=60):
    if user:
        argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] + argv
    # stdout and stderr are pipes: a restarted process's pipes to the outside are connected
    # to cr_restart's stdio (a regular file would be reopened by path instead).
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, stdin=subprocess.DEVNULL)
    try:
        data, errs = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        fail(f"{argv} did not finish in {timeout} s")
    with open(out_path, "wb") as out:
        out.write(data)
    with open(out_path + ".err", "wb") as err:
        err.write(errs)
    return p.returncode


def show(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--prog", required=True)
    ap.add_argument("--scope", choices=["proc", "tree"], default="proc")
    ap.add_argument("--user", choices=["root", "nobody"], default="root")
    a = ap.parse_args()
    become_subreaper()

    scratch = tempfile.mkdtemp(prefix="crest-libcr-e2e-")
    os.chmod(scratch, 0o777)
    nobody = a.user == "nobody"
    try:
        env = dict(os.environ)
        prog, restart = a.prog, os.path.join(a.tools, "cr_restart")
        if nobody:
            # The build may sit where uid 65534 cannot reach: run copies from scratch.
            bindir = os.path.join(scratch, "bin")
            os.makedirs(bindir)
            for src in [a.prog, os.path.join(a.tools, "cr_checkpoint"), restart,
                        os.path.realpath(os.path.join(a.tools, "libcr.so.0"))]:
                shutil.copy2(src, bindir)
            os.symlink(os.path.basename(os.path.realpath(os.path.join(a.tools, "libcr.so.0"))),
                       os.path.join(bindir, "libcr.so.0"))
            os.chmod(bindir, 0o755)
            prog = os.path.join(bindir, os.path.basename(a.prog))
            restart = os.path.join(bindir, "cr_restart")
            env["LD_LIBRARY_PATH"] = bindir
            env["CREST_CR_CHECKPOINT"] = os.path.join(bindir, "cr_checkpoint")
        work = os.path.join(scratch, "work")
        os.makedirs(work)
        os.chmod(work, 0o777)
        ctx = os.path.join(work, "context")

        out1 = os.path.join(scratch, "run.out")
        st = run([prog, ctx, a.scope], env, out1, nobody)
        text1 = show(out1)
        if st != 7:
            fail(f"original run exited {st}, expected 7\nstdout:\n{text1}\nstderr:\n{show(out1 + '.err')}")
        lines1 = text1.splitlines()
        marks = [i for i, l in enumerate(lines1) if l.startswith("continued")]
        if len(marks) != 1:
            fail(f"original run should print one 'continued' line:\n{text1}\nstderr:\n{show(out1 + '.err')}")
        if lines1[marks[0]] != "continued (image fd closed, status 0)":
            fail(f"unexpected continue line {lines1[marks[0]]!r}")
        if not os.path.isfile(ctx) or os.path.getsize(ctx) == 0:
            fail(f"{ctx} missing or empty after the continue path renamed it")
        if os.path.exists(ctx + ".new"):
            fail(f"{ctx}.new still exists after the rename")
        reap_all()

        out2 = os.path.join(scratch, "restart.out")
        argv = [restart] + (["--no-restore-pid"] if nobody else []) + [ctx]
        st = run(argv, env, out2, nobody)
        text2 = show(out2)
        expected = "\n".join(["restarted (image fd closed, status 0)"] + lines1[marks[0] + 1:]) + "\n"
        if text2 != expected:
            fail(f"restarted output differs (cr_restart exit {st})\nexpected:\n{expected}\ngot:\n{text2}\nstderr:\n{show(out2 + '.err')}")
        if st != 7:
            fail(f"cr_restart exited {st}, expected the program's 7\nstderr:\n{show(out2 + '.err')}")
        print(f"ok: self-checkpoint ({a.scope}, {a.user}): continued, renamed, restarted with CR_ERESTARTED")
    finally:
        reap_all()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
