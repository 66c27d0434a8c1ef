#!/usr/bin/env python3
"""Root restarting a user's image acts with the user's rights, never its own (issue 12).

1. An image of a uid-65534 job written by root, then given to uid 65533 (chown): the
   image is 65533's, so root's cr_restart may restore only 65533's ids, and refuses the
   saved uid 65534 by name (exit 1, EPERM), leaving nothing behind. With
   --trust-image-ids it restores the job as it was.
2. An image a uid-65534 job's own cr_checkpoint wrote (owned by 65534), restarted by
   root: the job runs as uid 65534 again, and its output equals an uninterrupted run's.
3. A uid-65534 job holding a file open that it could read when it was checkpointed,
   made root's alone (0600) before the restart: root's cr_restart must not open it on
   the job's behalf (exit 13, EACCES, naming the file), with or without
   --trust-image-ids, and nothing of the job may run. Before the fix cr_restart opened
   it as root and handed it to the user's process.
4. A uid-65534 job with a listening unix socket bound in a directory it could write;
   before the restart the directory becomes root's alone and a root service binds that
   name: root's cr_restart must fail (EADDRINUSE naming the path) and leave root's socket
   file in place. Before the fix it unlinked it and bound the user's socket there."""
import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
import credjob  # noqa: E402


def checkpoint(t, job, img, user=False):
    r = t.run([t.cr_checkpoint, "--tree", "--kill", "-f", img, job.pid], user=user)
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    job.wait(10)
    t.wait_pid_free(job.pid)


def restored(t, label, job, img, extra, ref):
    """cr_restart (root) brings the job back with its credentials and output."""
    before = credjob.credentials_of_saved(job)
    rp = t.start([t.cr_restart, *extra, img])
    st = t.wait_restored(rp, "creds_job", pid=job.pid)
    if not st:
        rp.kill()
        t.check(False, f"{label}: the job did not come back: {rp.wait(5)}")
        return
    credjob.wait_ready(t, st.pid, False, label)
    credjob.compare_credentials(t, label, before, credjob.credentials(st.pid))
    credjob.release(t, st.pid)
    r = rp.wait(15)
    t.check(r.rc == 0, f"{label}: cr_restart should exit 0 as the job does: {r}")
    t.check(job.text() == ref, f"{label}: output differs from the uninterrupted run:\n{job.text()}\n--- expected:\n{ref}")


def refused(t, label, job, img, extra, rc, words):
    before = set(t.live_descendants())
    r = t.run([t.cr_restart, *extra, img])
    t.check(r.rc == rc, f"{label}: expected exit {rc}: {r}")
    for w in words:
        t.check(w in r.err, f"{label}: the refusal should name {w!r}: {r}")
    t.check_no_new_processes(before, label)
    t.check_not_restored(job.pid, "creds_job", label)


def body(t):
    t.require_root("root restarts images of uid 65534")
    job_bin = t.helper("creds_job")
    t.require_usable_by_nobody(t.cr_checkpoint)
    argv = [job_bin, "thread"]
    ref = credjob.reference(t, argv, "ref", False, user=True)

    t.section("an image of uid 65534's job owned by uid 65533 is refused, unless --trust-image-ids")
    job = t.spawn(argv, name="owner", user=True)
    credjob.wait_ready(t, job.pid, False, "owner")
    credjob.remember(job)
    img = t.path("owner.img")
    checkpoint(t, job, img)
    os.chown(img, 65533, 65533)
    refused(t, "image owned by 65533", job, img, [], 1, ["saved uid 65534", "image owner", "--trust-image-ids"])
    restored(t, "image owned by 65533, --trust-image-ids", job, img, ["--trust-image-ids"], ref)

    t.section("an image written by uid 65534 itself is restarted by root as uid 65534")
    out = t.mkdir("out", mode=0o777)
    job = t.spawn(argv, name="own", user=True)
    credjob.wait_ready(t, job.pid, False, "own")
    credjob.remember(job)
    img = os.path.join(out, "own.img")
    checkpoint(t, job, img, user=True)
    t.check(os.stat(img).st_uid == clitest.NOBODY_UID, "the image should be uid 65534's")
    restored(t, "image owned by 65534", job, img, [], ref)

    t.section("a file the job could read, now root's alone, is not opened for it by root")
    secret = t.path("secret")
    with open(secret, "w") as f:
        f.write("root only from now on\n")
    os.chmod(secret, 0o644)
    job = t.spawn([job_bin, "thread", secret], name="secret", user=True)
    credjob.wait_ready(t, job.pid, False, "secret")
    img = t.path("secret.img")
    checkpoint(t, job, img)
    os.chmod(secret, 0o600)
    for extra in ([], ["--trust-image-ids"]):
        refused(t, f"root-only file {' '.join(extra)}", job, img, extra, 13, [secret, "Permission denied"])

    t.section("a socket name the job had, now a root service's, is not taken over")
    sockdir = t.mkdir("sockets", mode=0o777)
    path = os.path.join(sockdir, "service")
    job = t.spawn([job_bin, "thread", "sock:" + path], name="sock", user=True)
    credjob.wait_ready(t, job.pid, False, "sock")
    img = t.path("sock.img")
    checkpoint(t, job, img)
    # The name is root's now: its directory writable by root alone, a root socket there.
    os.unlink(path)
    os.chmod(sockdir, 0o755)
    service = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    service.bind(path)
    service.listen(1)
    inode = os.stat(path).st_ino
    # The stale name cannot be unlinked as uid 65534, so binding finds it in use (98).
    refused(t, "root's socket name", job, img, [], 98, [path, "in use"])
    t.check(os.path.exists(path) and os.stat(path).st_ino == inode and os.stat(path).st_uid == 0,
            "root's socket file was replaced")
    service.close()


if __name__ == "__main__":
    clitest.main(body)
