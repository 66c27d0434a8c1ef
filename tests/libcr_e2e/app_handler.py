#!/usr/bin/env python3
"""An application's own CR_SIGNUM action does not break a checkpoint (issue 13, behaviour
4; BLCR forced libcr's handler for the checkpoint and put the application's back).

    app_handler.py --tools DIR --prog PATH --mode sigaction|signal|ign [--cr-run]

The program (app_handler.c) installs its action on CR_SIGNUM after libcr, writes "ready"
and sleeps. cr_checkpoint --kill (bounded by -t 20): the checkpoint must succeed with
libcr's protocol (the callback writes "cb continue"; the application's handler does not
run), the original is killed. cr_restart: the copy writes "cb restart", "after", "kept"
(sigaction() still reports the application's action) and, for the handler modes, "app
handler" when it sends itself CR_SIGNUM; cr_restart exits 7. --cr-run: the program has no
libcr, cr_run preloads libcr_run (no callback lines). The runner is a child subreaper and
ends what it started by pid."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import become_subreaper, end_all, fail, lines, restart_events, start_until_ready  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--prog", required=True)
    ap.add_argument("--mode", choices=["sigaction", "signal", "ign"], required=True)
    ap.add_argument("--cr-run", action="store_true")
    a = ap.parse_args()
    become_subreaper()
    scratch = tempfile.mkdtemp(prefix="crest-app-handler-")
    procs = []
    try:
        events = os.path.join(scratch, "events")
        ctx = os.path.join(scratch, "context")
        argv = ([os.path.join(a.tools, "cr_run")] if a.cr_run else []) + [a.prog, events, a.mode]
        p = start_until_ready(argv, events)
        procs.append(p)
        r = subprocess.run([os.path.join(a.tools, "cr_checkpoint"), "-t", "20", "--kill", "-f", ctx, str(p.pid)],
                           capture_output=True, text=True, timeout=90)
        if r.returncode != 0:
            fail(f"cr_checkpoint exited {r.returncode}: {r.stderr}\nevents: {lines(events)}")
        p.wait(timeout=20)
        got = lines(events)
        want = ["ready"] + ([] if a.cr_run else ["cb continue"])
        if got != want:
            fail(f"original: events {got}, expected {want} (the application's action took the checkpoint's signal)")
        code, again = restart_events(a.tools, ctx, events, got)
        want2 = ([] if a.cr_run else ["cb restart"]) + ["after", "kept"] + \
            (["app handler"] if a.mode != "ign" else [])
        if again != want2 or code != 7:
            fail(f"restarted: events {again} exit {code}, expected {want2} exit 7")
        print(f"ok: {a.mode}{' under cr_run' if a.cr_run else ''}: original {got}, restarted {again}")
    finally:
        end_all(procs)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
