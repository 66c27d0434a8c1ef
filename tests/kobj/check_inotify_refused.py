#!/usr/bin/python3
"""As uid 65534: a watch whose path cannot be found (programs/inotify_far watches
/usr/share; an ordinary user has no open_by_handle_at, and the search near the process
does not reach it) makes cr_checkpoint --kill fail with 95 (ENOTSUP), naming the pid,
the fd and the watch, write no image, and leave the process running untraced; with
--skip-unsupported the checkpoint succeeds with a warning. The program then finishes."""
import os
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_unprivileged import Run, end_scratch, fail, reap_orphans  # noqa: E402


def tracer_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return None


def main():
    tools, prog = sys.argv[1], sys.argv[2]
    if os.getuid() == 0:
        fail("run this as an ordinary user")
    root = tempfile.mkdtemp(prefix="crest-kobj-inotify-refused-")
    ok = False
    run = None
    try:
        run = Run(root, "run", prog)
        run.wait_point()
        fd, wd = run.stdout().decode().split()[1::2][:2]
        pid = run.proc.pid
        img = os.path.join(root, "img")
        r = subprocess.run([os.path.join(tools, "cr_checkpoint"), "--kill", "-f", img, str(pid)],
                           capture_output=True, text=True)
        print("cr_checkpoint --kill: exit %d: %s" % (r.returncode, r.stderr.strip()))
        if r.returncode != 95:
            fail("expected exit 95 (ENOTSUP)")
        for part in ("process %d" % pid, "fd %s" % fd, "inotify watch %s" % wd):
            if part not in r.stderr:
                fail("the message should name '%s'" % part)
        if os.path.exists(img) and os.path.getsize(img) > 0:
            fail("an image was left behind")
        if run.proc.poll() is not None or tracer_of(pid) != 0:
            fail("the process should run on untraced")
        r = subprocess.run([os.path.join(tools, "cr_checkpoint"), "--skip-unsupported", "-f", img, str(pid)],
                           capture_output=True, text=True)
        print("cr_checkpoint --skip-unsupported: exit %d: %s" % (r.returncode, r.stderr.strip()))
        if r.returncode != 0 or "inotify watch %s" % wd not in r.stderr:
            fail("--skip-unsupported should succeed with a warning naming the watch")
        run.proc.send_signal(signal.SIGUSR2)
        if run.proc.wait(timeout=20) != 0 or b"PASS" not in run.stdout():
            fail("the program did not finish: %s" % run.stdout().decode())
        print("PASS")
        ok = True
    finally:
        if run is not None and run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()
        reap_orphans()
        end_scratch(root, ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
