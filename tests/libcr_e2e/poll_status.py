#!/usr/bin/env python3
"""cr_poll_checkpoint() in a restarted requester waits for the restart part of its
checkpoint (issue 13, behaviour 2).

    poll_status.py --tools DIR --prog PATH

poll_status (poll_status.c) checkpoints itself with a thread-context callback whose
restart part takes 1 s. The original must write "continued status 0", "callback done";
the copy restarted by cr_restart "restarted status 0", "callback done" (before the fix:
"restarted status 1", the poll returned while cr_status() was still PENDING), and
cr_restart exits 7. The runner is a child subreaper (libcr's cr_checkpoint is
double-forked) and ends what it started by pid."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_common import become_subreaper, end_all, fail, lines, restart_events  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--prog", required=True)
    a = ap.parse_args()
    become_subreaper()
    scratch = tempfile.mkdtemp(prefix="crest-poll-status-")
    try:
        events = os.path.join(scratch, "events")
        ctx = os.path.join(scratch, "context")
        env = dict(os.environ, CREST_CR_CHECKPOINT=os.path.join(a.tools, "cr_checkpoint"))
        try:
            r = subprocess.run([a.prog, events, ctx], stdin=subprocess.DEVNULL, env=env, timeout=60)
        except subprocess.TimeoutExpired:
            fail("the original run did not finish in 60 s")
        got = lines(events)
        if got != ["continued status 0", "callback done"] or r.returncode != 7:
            fail(f"original: events {got} exit {r.returncode}")
        end_all([])
        code, again = restart_events(a.tools, ctx, events, got)
        if again != ["restarted status 0", "callback done"] or code != 7:
            fail(f"restarted: events {again} exit {code} (expected 'restarted status 0', 'callback done', "
                 "exit 7: the poll returned before the request was complete)")
        print(f"ok: original {got}, restarted {again}")
    finally:
        end_all([])
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
