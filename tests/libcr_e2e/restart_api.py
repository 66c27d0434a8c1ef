#!/usr/bin/env python3
"""cr_request_restart end to end (issue 4, item 4): self_checkpoint makes an image of
itself; restart_api restores it through the API and checks that the leader is its own
child (with the original pid when restoring pids), that it exits as the original did, and
that its output continues the original's. Root only (pids restored); the runner is a
subreaper and ends every process it started by pid."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import become_subreaper, fail, reap_all  # noqa: E402




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--self-checkpoint", required=True)
    ap.add_argument("--restart-api", required=True)
    ap.add_argument("--fresh-pid", action="store_true")
    ap.add_argument("--relocate", action="store_true",
                    help="run a copy of the program from one directory, move the directory, "
                         "restart through a relocation table")
    a = ap.parse_args()
    become_subreaper()
    scratch = tempfile.mkdtemp(prefix="crest-restart-api-")
    try:
        ctx = os.path.join(scratch, "context")
        prog = a.self_checkpoint
        if a.relocate:
            old_dir = os.path.join(scratch, "old")
            os.makedirs(old_dir)
            prog = os.path.join(old_dir, "self_checkpoint")
            shutil.copy2(a.self_checkpoint, prog)
        p = subprocess.Popen([prog, ctx, "proc"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out1, err1 = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            fail("self_checkpoint did not finish")
        if p.returncode != 7:
            fail(f"self_checkpoint exited {p.returncode}: {err1.decode()}")
        original_pid = p.pid
        lines = out1.decode().splitlines()
        mark = lines.index("continued (image fd closed, status 0)")
        reap_all()
        want_pid = "0" if a.fresh_pid else str(original_pid)
        extra = []
        if a.relocate:
            new_dir = os.path.join(scratch, "new")
            os.rename(old_dir, new_dir)  # the executable the image names is gone
            extra = [old_dir, new_dir]
        q = subprocess.Popen([a.restart_api, ctx, want_pid, "7"] + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out2, err2 = q.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            q.kill()
            q.communicate()
            fail("restart_api did not finish")
        expected = "\n".join(["restarted (image fd closed, status 0)"] + lines[mark + 1:] +
                             ["restart_api: leader is my child and exited 7"]) + "\n"
        if q.returncode != 0 or out2.decode() != expected:
            fail(f"restart_api exited {q.returncode}\nexpected:\n{expected}\ngot:\n{out2.decode()}\nstderr:\n{err2.decode()}")
        print(f"ok: cr_request_restart ({'fresh pid' if a.fresh_pid else 'original pid'}"
              f"{', relocated' if a.relocate else ''}): leader is the caller's child")
    finally:
        reap_all()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
