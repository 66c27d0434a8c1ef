#!/usr/bin/env python3
"""cr_checkpoint's remaining BLCR options:
--kmsg-none / --kmsg-error (default) / --kmsg-warning: the checkpoint's log lines
  (here the --skip-unsupported warning for a TCP socket) listed on stderr, each
  prefixed "- ", never / only on failure (/dev/full: ENOSPC) / always;
--quiet: nothing at all on stderr;
--early-stop / --early-abrt: SIGSTOP / SIGABRT right after the image;
--sync / --nosync: an fd destination that cannot be synced (/dev/null, a pipe) works;
--require-libcr: a process without libcr is refused with CR_ENOSUPPORT (exit 52);
-v: the image's size and the freeze report ("frozen T ms (stopping A ms, metadata B ms,
  pages C ms, ...)"): A + B + C within T, T within the command's wall time."""
import errno
import os
import re
import time
import signal
import sys
import threading

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

TCP_SUBJECT = r"""
import os, socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
# A connection not yet accepted: crest refuses such a listener (its client end at fd 9).
c = socket.create_connection(s.getsockname())
os.dup2(c.fileno(), 9)
c.close()
os.dup2(s.fileno(), 7)
i = 0
while True:
    os.write(1, b"%d\n" % i)
    i += 1
    time.sleep(0.05)
"""


def clitest_read_all(fd):
    data = b""
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return data
        data += chunk


def kmsg_lines(err):
    return [line for line in err.splitlines() if line.startswith("- ")]


def body(t):
    tcp = t.spawn([sys.executable, "-c", TCP_SUBJECT], name="tcp")
    t.wait_output(tcp, lambda: len(tcp.counters()) >= 3, "3 counter lines")
    img = t.path("img")

    def ckpt(label, *args, dest=("-f", img)):
        r = t.run([t.cr_checkpoint, "--skip-unsupported", *args, *dest, tcp.pid])
        t.log(f"    {label}: log lines {kmsg_lines(r.err)}")
        return r

    t.section("--kmsg-*: log lines on success")
    r = ckpt("warning", "--kmsg-warning")
    t.check(r.rc == 0, f"--kmsg-warning checkpoint failed: {r}")
    t.check(any("fd 7" in line for line in kmsg_lines(r.err)),
            f"--kmsg-warning: a '- ' line naming fd 7 expected on success: {r}")
    t.check("warning:" not in r.err, f"--kmsg-warning: the '- ' lines replace the plain warnings: {r}")
    r = ckpt("default")
    t.check(r.rc == 0 and not kmsg_lines(r.err), f"default (--kmsg-error): no '- ' lines on success: {r}")
    t.check("warning:" in r.err and "fd 7" in r.err, f"default: the plain warning is shown on success: {r}")
    r = ckpt("none", "--kmsg-none")
    t.check(r.rc == 0 and "fd 7" not in r.err, f"--kmsg-none: no warning shown: {r}")
    r = ckpt("error", "--kmsg-warning", "--kmsg-error")
    t.check(r.rc == 0 and not kmsg_lines(r.err), f"--kmsg-error (last wins): no '- ' lines on success: {r}")

    t.section("--kmsg-*: log lines on failure (/dev/full: ENOSPC)")
    full = ("-f", "/dev/full")
    r = ckpt("error-fail", dest=full)
    t.check(r.rc == errno.ENOSPC, f"writing to /dev/full should fail with ENOSPC (28): {r}")
    t.check(any("fd 7" in line for line in kmsg_lines(r.err)), f"default: '- ' lines expected on failure: {r}")
    r = ckpt("none-fail", "--kmsg-none", dest=full)
    t.check(r.rc == errno.ENOSPC and not kmsg_lines(r.err), f"--kmsg-none: no '- ' lines even on failure: {r}")
    r = ckpt("quiet-fail", "--quiet", "--kmsg-warning", dest=full)
    t.check(r.rc == errno.ENOSPC and r.err == "", f"--quiet: nothing on stderr at all: {r}")
    t.check_running(tcp, "after the failed checkpoints")
    t.kill_subject(tcp)

    t.section("--sync with destinations fsync() refuses (EINVAL): /dev/null and a pipe")
    s = t.spin_print(name="sync")
    null_fd = os.open("/dev/null", os.O_WRONLY)
    try:
        for opt in ("--sync", "--nosync"):
            r = t.run([t.cr_checkpoint, opt, "-F", str(null_fd), s.pid], pass_fds=(null_fd,))
            t.check(r.rc == 0, f"{opt} to /dev/null by fd should succeed: {r}")
        r = t.run([t.cr_checkpoint, "--sync", "-f", "/dev/null", s.pid])
        t.check(r.rc == 0, f"--sync -f /dev/null should succeed: {r}")
    finally:
        os.close(null_fd)
    rd, wr = os.pipe()
    got = []
    drain = threading.Thread(target=lambda: got.append(len(clitest_read_all(rd))), daemon=True)
    drain.start()
    try:
        r = t.run([t.cr_checkpoint, "--sync", "-F", str(wr), s.pid], pass_fds=(wr,))
    finally:
        os.close(wr)
        drain.join(10)
        os.close(rd)
    t.check(r.rc == 0, f"--sync to a pipe should succeed: {r}")
    t.check(got and got[0] > clitest.HEADER_SIZE, f"--sync to a pipe: image not streamed ({got})")
    r = t.run([t.cr_checkpoint, "--sync", "-f", t.path("synced"), s.pid])
    t.check(r.rc == 0 and os.path.getsize(t.path("synced")) > clitest.HEADER_SIZE, f"--sync to a file: {r}")
    t.check_running(s, "after the --sync checkpoints")

    t.section("-v: what was written and how long the process was frozen")
    t0 = time.monotonic()
    r = t.run([t.cr_checkpoint, "-v", "-f", t.path("verbose"), s.pid])
    wall_ms = (time.monotonic() - t0) * 1000
    t.check(r.rc == 0, f"-v checkpoint failed: {r}")
    size = os.path.getsize(t.path("verbose"))
    t.check(f"wrote {t.path('verbose')}: {size} bytes" in r.err, f"-v: the image and its size ({size}) expected: {r}")
    m = re.search(r"frozen ([0-9.]+) ms \(stopping ([0-9.]+) ms, metadata ([0-9.]+) ms, pages ([0-9.]+) ms", r.err)
    t.check(m is not None, f"-v: no freeze report: {r}")
    if m:
        frozen, parts = float(m.group(1)), [float(g) for g in m.groups()[1:]]
        t.log(f"    frozen {frozen} ms, parts {parts}, command {wall_ms:.1f} ms")
        t.check(0 < frozen <= wall_ms, f"-v: frozen {frozen} ms should be within the command's {wall_ms:.1f} ms")
        t.check(sum(parts) <= frozen + 0.2, f"-v: the parts {parts} add up to more than the freeze {frozen}")
    t.check_running(s, "after the -v checkpoint")

    t.section("--require-libcr: a process without libcr is refused (CR_ENOSUPPORT, exit 52)")
    r = t.run([t.cr_checkpoint, "--require-libcr", "-f", t.path("nolibcr"), s.pid])
    t.check(r.rc == 52, f"--require-libcr should exit 52: {r}")
    t.check(not os.path.exists(t.path("nolibcr")), "--require-libcr: an image was left behind")
    t.check_running(s, "after --require-libcr")
    t.kill_subject(s)

    t.section("--early-stop: stopped right after the image")
    s = t.spin_print(name="early-stop")
    r = t.run([t.cr_checkpoint, "--early-stop", "-f", t.path("img.es"), s.pid])
    t.check(r.rc == 0, f"--early-stop checkpoint failed: {r}")
    st = clitest.wait_for(lambda: clitest.is_stopped(s.pid), 3)
    t.check(st, f"--early-stop: the process should be stopped, is {t.state_desc(s.pid)}")
    if st:
        n = s.last_counter()
        clitest.time.sleep(0.3)
        t.check(s.last_counter() == n, "--early-stop: the counter still moves")
    t.kill_subject(s)

    t.section("--early-abrt: SIGABRT right after the image")
    s = t.spin_print(name="early-abrt")
    r = t.run([t.cr_checkpoint, "--early-abrt", "-f", t.path("img.ea"), s.pid])
    t.check(r.rc == 0, f"--early-abrt checkpoint failed: {r}")
    t.expect_death(s, signal.SIGABRT)
    t.check(os.path.getsize(t.path("img.ea")) > clitest.HEADER_SIZE, "--early-abrt: no image")

    t.section("--early-* are hidden from --help, as in BLCR")
    r = t.run([t.cr_checkpoint, "--help"])
    t.check(b"early" not in r.out, f"--help should not list --early-*: {r.out[-400:]!r}")


if __name__ == "__main__":
    clitest.main(body)
