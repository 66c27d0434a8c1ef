#!/usr/bin/env python3
"""cr_checkpoint's and cr_restart's after-action signal reaches a libcr process before it
runs its own code again (issue 13, behaviour 3; BLCR raised it inside libcr's handler with
every signal blocked, on the continue and on the restart path).

    after_signal.py --tools DIR --prog PATH --action term|kill|usr1 [--cr-run]

The program (after_signal.c) writes "ready", sleeps, and writes "after" when the sleep
ends. Checkpointed with --term / --kill / --signal 10, the original must:
  term, kill: die of that signal having written nothing after its callback's
              "cb continue" (before the fix it wrote "after" first);
  usr1:       write "usr1" (its handler) before "after", then exit 7.
Three rounds (fresh processes) of that, then cr_restart runs the last image three times
with the same option (--term / --kill / --signal 10), and the restarted copy must do as
the original did, with "cb restart" for "cb continue" (before the fix cr_restart sent the
signal only after libcr's Done, and the copy wrote "after" first); cr_restart exits as
the copy does (dies of its signal, or exits 7). Last, cr_restart without an option: the
restarted copy writes "cb restart" and "after" once and cr_restart exits 7. --cr-run: the program has no libcr, cr_run preloads libcr_run
(no callback lines). The runner is a child subreaper and ends what it started by pid."""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import become_subreaper, end_all, fail, lines, restart_events, start_until_ready  # noqa: E402

ACTIONS = {"term": (["--term"], -signal.SIGTERM), "kill": (["--kill"], -signal.SIGKILL),
           "usr1": (["--signal", str(int(signal.SIGUSR1))], 7)}
ROUNDS = 3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--prog", required=True)
    ap.add_argument("--action", choices=sorted(ACTIONS), required=True)
    ap.add_argument("--cr-run", action="store_true")
    a = ap.parse_args()
    become_subreaper()
    scratch = tempfile.mkdtemp(prefix="crest-after-signal-")
    procs = []
    try:
        events = os.path.join(scratch, "events")
        ctx = os.path.join(scratch, "context")
        argv = ([os.path.join(a.tools, "cr_run")] if a.cr_run else []) + [a.prog, events]
        options, status = ACTIONS[a.action]
        # Before the fix the program raced the dumper's signal (and usually won): a few
        # rounds, each a fresh process, so a lost race cannot pass by luck alone.
        for _ in range(ROUNDS):
            if os.path.exists(events):
                os.unlink(events)
            p = start_until_ready(argv, events)
            procs.append(p)
            r = subprocess.run([os.path.join(a.tools, "cr_checkpoint")] + options + ["-f", ctx, str(p.pid)],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                fail(f"cr_checkpoint exited {r.returncode}: {r.stderr}")
            st = p.wait(timeout=20)
            got = lines(events)
            cb = [] if a.cr_run else ["cb continue"]
            want = ["ready"] + cb + (["usr1", "after"] if a.action == "usr1" else [])
            if got != want or st != status:
                fail(f"original: events {got} status {st}, expected {want} status {status} "
                     "(it ran its own code before the after-action signal)")
        seen = got
        for _ in range(ROUNDS):
            code, again = restart_events(a.tools, ctx, events, seen, options)
            seen = seen + again
            want = ([] if a.cr_run else ["cb restart"]) + (["usr1", "after"] if a.action == "usr1" else [])
            if again != want or code != status:
                fail(f"restarted with {options}: events {again} exit {code}, expected {want} exit {status} "
                     "(it ran its own code before cr_restart's after-action signal)")
        code, again = restart_events(a.tools, ctx, events, seen)
        want2 = ([] if a.cr_run else ["cb restart"]) + ["after"]
        if again != want2 or code != 7:
            fail(f"restarted: events {again} exit {code}, expected {want2} exit 7")
        print(f"ok: {a.action}{' under cr_run' if a.cr_run else ''}: original {got}, restarted {again}")
    finally:
        end_all(procs)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
