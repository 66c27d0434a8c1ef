#!/usr/bin/env python3
"""cr_checkpoint serving a libcr request (--libcr-handle-fd, as cr_request_checkpoint()
starts it): the answer is protocol.h's HandleMsg on the handle (kAccepted, then
kFinished with BLCR's errno and log_len bytes of log), and nothing is printed on
stderr.  Request-time errors go into kAccepted, or with --async-err into kFinished."""
import errno
import os
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

MAGIC = 0x43524C43
ACCEPTED, FINISHED = 1, 2
HEAD = struct.Struct("<IIiI")  # magic, type, err, log_len (then, in newer versions, more fields)


def message_size(data):
    """sizeof(HandleMsg) as this build writes it: the second message's magic follows
    the first one (a kAccepted, which carries no log)."""
    for size in (16, 24, 32):
        if len(data) >= size + 4 and struct.unpack_from("<I", data, size)[0] == MAGIC:
            return size
    return HEAD.size


def read_all(fd):
    data = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return data
        data += chunk


def parse_messages(t, data, label):
    """[(type, err, log)] from the bytes written on the handle."""
    out, at = [], 0
    size = message_size(data)
    while at < len(data):
        if not t.check(len(data) - at >= size, f"{label}: {len(data) - at} stray bytes on the handle"):
            break
        magic, typ, err, log_len = HEAD.unpack_from(data, at)
        at += size
        t.check(magic == MAGIC, f"{label}: bad magic {magic:#x}")
        log = b""
        if typ == FINISHED:
            log = data[at:at + log_len]
            at += log_len
        out.append((typ, err, log.decode("utf-8", "replace")))
    return out


def serve(t, label, args, target, extra_fds=(), requester=None):
    """Runs cr_checkpoint in serving mode for requester (default: this process);
    returns (Result, messages)."""
    r_h, w_h = os.pipe()
    try:
        r = t.run([t.cr_checkpoint, f"--libcr-handle-fd={w_h}", f"--libcr-requester={requester or os.getpid()}",
                   f"--libcr-target={target}", *args, "--nosync", target],
                  pass_fds=(w_h, *extra_fds))
        os.close(w_h)
        w_h = -1
        data = read_all(r_h)
    finally:
        os.close(r_h)
        if w_h >= 0:
            os.close(w_h)
    msgs = parse_messages(t, data, label)
    t.log(f"    messages: {msgs}")
    t.check(r.err == "", f"{label}: serving mode printed on stderr: {r.err!r}")
    t.check([m[0] for m in msgs] == [ACCEPTED, FINISHED],
            f"{label}: expected kAccepted then kFinished, got {msgs}")
    return r, msgs


def body(t):
    t.require_root("the restored copy gets the original pid back")

    t.section("a successful request: kAccepted 0, kFinished 0, a usable image")
    s = t.spin_print(name="ok")
    img = t.path("img.ok")
    fd = os.open(img, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        r, msgs = serve(t, "success", ["--pid", "-F", str(fd)], str(s.pid), extra_fds=(fd,))
    finally:
        os.close(fd)
    t.check(r.rc == 0, f"success: cr_checkpoint should exit 0: {r}")
    if len(msgs) == 2:
        t.check(msgs[0][1] == 0 and msgs[1][1] == 0, f"success: errors reported: {msgs}")
    with open(img, "rb") as f:
        head = f.read(8)
    t.require(head == clitest.IMAGE_MAGIC, f"success: no image written to the -F descriptor (starts {head!r})")
    at_ckpt = s.counters()
    t.kill_subject(s)
    rp = t.start([t.cr_restart, img])
    t.require_restored(rp, "spin_print", pid=s.pid, failure="the served request's image did not restore")
    t.check_counter_resumed(s, at_ckpt, s.pid, "served image")
    t.kill_restored(rp, s.pid, "served image")

    t.section("a directory as the destination descriptor: one context.PID per process in it")
    s = t.spin_print(name="dirfd")
    d = t.mkdir("dirfd")
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        r, msgs = serve(t, "dir fd", ["--tree", "-F", str(fd)], str(s.pid), extra_fds=(fd,))
    finally:
        os.close(fd)
    t.check(r.rc == 0 and len(msgs) == 2 and msgs[1][1] == 0, f"dir fd: the request should succeed: {r} {msgs}")
    t.check(os.listdir(d) == [f"context.{s.pid}"], f"dir fd: expected context.{s.pid} in {d}: {os.listdir(d)}")
    t.kill_subject(s)

    missing = str(clitest.free_pid())
    t.section("no such process: ESRCH in kAccepted")
    r, msgs = serve(t, "ESRCH", ["--pid", "-F", "1"], missing)
    if len(msgs) == 2:
        t.check(msgs[0][1] == errno.ESRCH, f"ESRCH: kAccepted should carry {errno.ESRCH}: {msgs}")
        t.check(msgs[1][1] == errno.ESRCH, f"ESRCH: kFinished should carry {errno.ESRCH}: {msgs}")

    t.section("no such process with --async-err: kAccepted 0, ESRCH and a log in kFinished")
    r, msgs = serve(t, "ESRCH async", ["--pid", "--async-err", "-F", "1"], missing)
    if len(msgs) == 2:
        t.check(msgs[0][1] == 0, f"async-err: kAccepted should carry 0: {msgs}")
        t.check(msgs[1][1] == errno.ESRCH, f"async-err: kFinished should carry {errno.ESRCH}: {msgs}")
        t.check(missing in msgs[1][2], f"async-err: the log should name pid {missing}: {msgs[1][2]!r}")

    t.section("a destination descriptor that is not open: EINVAL")
    r, msgs = serve(t, "bad fd", ["--pid", "-F", "97"], str(os.getpid()))
    if len(msgs) == 2:
        t.check(msgs[0][1] == errno.EINVAL, f"bad fd: kAccepted should carry EINVAL: {msgs}")

    t.section("--prohibit-self with the requester in the scope: EDEADLK in kAccepted")
    s = t.spin_print(name="self")
    r_h, w_h = os.pipe()
    r = t.run([t.cr_checkpoint, f"--libcr-handle-fd={w_h}", f"--libcr-requester={s.pid}", f"--libcr-target={s.pid}",
               "--pid", "--prohibit-self", "-F", "1", "--nosync", s.pid], pass_fds=(w_h,))
    os.close(w_h)
    msgs = parse_messages(t, read_all(r_h), "prohibit-self")
    os.close(r_h)
    t.check(msgs and msgs[0][:2] == (ACCEPTED, errno.EDEADLK), f"prohibit-self: kAccepted with EDEADLK expected: {msgs}")
    t.check(r.err == "", f"prohibit-self: serving mode printed on stderr: {r.err!r}")
    t.check_running(s, "after a refused --prohibit-self request")
    t.kill_subject(s)

    t.section("cr_restart serving cr_request_restart(): kAccepted 0, kFinished 0 with the leader's pid")
    s = t.spin_print(name="rs")
    img = t.path("img.rs")
    r = t.run([t.cr_checkpoint, "--kill", "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint for the restart request failed: {r}")
    at_ckpt = s.counters()
    s.wait(5)
    fd = os.open(img, os.O_RDONLY)
    r_h, w_h = os.pipe()
    try:
        r = t.run([t.cr_restart, f"--libcr-restart-handle-fd={w_h}", "--restore-pid", "--no-restore-pgid",
                   "--no-restore-sid", "-F", str(fd)], pass_fds=(w_h, fd))
    finally:
        os.close(w_h)
        os.close(fd)
    data = read_all(r_h)
    os.close(r_h)
    msgs = parse_messages(t, data, "restart request")
    t.log(f"    messages: {msgs}")
    t.check(r.rc == 0 and r.err == "", f"restart request: cr_restart should exit 0 and print nothing: {r}")
    t.check([m[:2] for m in msgs] == [(ACCEPTED, 0), (FINISHED, 0)], f"restart request: messages {msgs}")
    if message_size(data) >= 24:
        leader = struct.unpack_from("<i", data, message_size(data) + 16)[0]
        t.check(leader == s.pid, f"restart request: kFinished should name the leader {s.pid}, not {leader}")
    t.track_pid(s.pid, "spin_print")
    t.check_counter_resumed(s, at_ckpt, s.pid, "restart request")
    os.kill(s.pid, 9)
    t.wait_pid_free(s.pid)

    t.section("cr_restart serving a request for a descriptor that is not open: EBADF")
    r_h, w_h = os.pipe()
    r = t.run([t.cr_restart, f"--libcr-restart-handle-fd={w_h}", "-F", "97"], pass_fds=(w_h,))
    os.close(w_h)
    msgs = parse_messages(t, read_all(r_h), "restart bad fd")
    os.close(r_h)
    t.check(msgs and msgs[0][:2] == (ACCEPTED, errno.EBADF) and r.err == "", f"restart bad fd: {msgs}, {r}")

    t.section("a usage error is reported on the handle too")
    r_h, w_h = os.pipe()
    r = t.run([t.cr_checkpoint, f"--libcr-handle-fd={w_h}", "--libcr-requester=1", "-F", "1", "--nosync"],
              pass_fds=(w_h,))
    os.close(w_h)
    data = read_all(r_h)
    os.close(r_h)
    msgs = parse_messages(t, data, "usage")
    t.check(r.err == "", f"usage: serving mode printed on stderr: {r.err!r}")
    t.check(msgs and msgs[0][:2] == (ACCEPTED, errno.EINVAL), f"usage: kAccepted with EINVAL expected: {msgs}")


if __name__ == "__main__":
    clitest.main(body)
