#!/usr/bin/env python3
"""A cut image stream (`head -c N image | cr_restart -F 0`) is reported at once: exit 22
(EINVAL) and "image truncated at byte N", also when the image's pid is still in use (the
original runs on), where cr_restart takes in the rest of the stream before it waits for
the pid (it used to wait 10 s and report EBUSY). The control: the whole stream, with the
pid in use, is refused with EBUSY as before."""
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def restart_from_pipe(t, data):
    r, w = os.pipe()

    def feed():
        try:
            for i in range(0, len(data), 65536):
                os.write(w, data[i:i + 65536])
        except OSError:  # cr_restart stopped reading
            pass
        os.close(w)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    t0 = time.monotonic()
    try:
        res = t.run([t.cr_restart, "-F", "0"], stdin=r, timeout=30)
    finally:
        os.close(r)
    feeder.join(5)
    return res, time.monotonic() - t0


def body(t):
    t.require_root("the image's pid is restored")
    s = t.spin_print()
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    with open(img, "rb") as f:
        data = f.read()
    size = len(data)
    sections = clitest.image_sections(data)
    first_pages = next(off for off, typ, _ in sections if typ in (3, 11))
    before = set(t.live_descendants())
    for cut in sorted({100, first_pages + 40, size // 2, size - 40, size - 1}):
        t.section(f"the first {cut} of {size} bytes, piped, the pid in use")
        res, took = restart_from_pipe(t, data[:cut])
        t.check(res.rc == 22, f"cut at {cut}: expected exit 22 (EINVAL): {res}")
        t.check(f"image truncated at byte {cut}" in res.err, f"cut at {cut}: no 'image truncated at byte {cut}': {res}")
        t.check(took < 5, f"cut at {cut}: cr_restart took {took:.1f} s to report the truncation")
        t.check_no_new_processes(before, f"cut at {cut}")
    t.section("control: the whole stream with the pid in use: EBUSY")
    res, took = restart_from_pipe(t, data)
    t.check(res.rc == 16, f"the whole image with its pid in use should fail with EBUSY (16): {res}")
    t.check_running(s, "the original after all these restarts")


if __name__ == "__main__":
    clitest.main(body)
