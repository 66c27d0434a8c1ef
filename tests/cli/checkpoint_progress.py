#!/usr/bin/env python3
"""cr_checkpoint's progress on stderr (--progress=WHEN):
- lines:SECONDS (the default when stderr is not a terminal, every 10 s): plain lines
  "cr_checkpoint: NN% X of Y MiB written, T s" with a total close to what is saved and
  percentages that never go down, then a summary "wrote SIZE to FILE in T s (R MiB/s)";
- a quick checkpoint with stderr not a terminal prints nothing (scripts see no change);
- none prints nothing; -q prints nothing;
- -F 2 (the image on stderr) gets no progress line written into it: the image verifies;
- on a terminal (a pty): the live line ("\\r" ... "%") and the summary."""
import os
import pty
import re
import select
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

LINE = re.compile(r"^cr_checkpoint: +(\d+)% ([\d.]+) of ([\d.]+) MiB written, [\d.]+ s$")
SUMMARY = re.compile(r"cr_checkpoint: wrote ([\d.]+) (KiB|MiB) to (.+) in [\d.]+ s \([\d.]+ MiB/s\)")


def body(t):
    s = t.big_mem("96")
    img = t.path("img")

    t.section("--progress=lines:0.01")
    r = t.run([t.cr_checkpoint, "--progress=lines:0.01", "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint: {r}")
    lines = r.err.strip().splitlines()
    progress = [LINE.match(l) for l in lines[:-1]]
    t.check(progress and all(progress), f"progress lines as documented: {lines}")
    size_mib = os.path.getsize(img) / 1048576
    if progress and all(progress):
        percents = [int(m.group(1)) for m in progress]
        t.check(percents == sorted(percents) and percents[-1] < 100, f"percentages rise, below 100 until done: {percents}")
        total = float(progress[0].group(3))
        t.check(0.7 * size_mib <= total <= 1.5 * size_mib, f"the total {total} MiB is close to the image's {size_mib:.1f} MiB")
    m = SUMMARY.fullmatch(lines[-1]) if lines else None
    t.check(m is not None and m.group(3) == img and abs(float(m.group(1)) - size_mib) < 0.2,
            f"the last line is the summary with the image's size ({size_mib:.1f} MiB): {lines[-1:]}")

    t.section("defaults and none, not on a terminal")
    for args in ([], ["--progress=none"], ["-q", "--progress=lines:0.01"]):
        r = t.run([t.cr_checkpoint, *args, "--clobber", "-f", img, s.pid])
        t.check(r.rc == 0 and r.err == "", f"{args or 'default'}: nothing on stderr for a quick checkpoint: {r}")
    r = t.run([t.cr_checkpoint, "--progress=sometimes", "-f", img, s.pid])
    t.check(r.rc == 255 and "--progress" in r.err, f"a bad --progress is a usage error: {r}")

    t.section("-F 2: the image on stderr, no progress in it")
    stream = t.path("stream")
    with open(stream, "wb") as f:
        p = subprocess.run([t.cr_checkpoint, "--progress=lines:0.01", "-F", "2", str(s.pid)], stderr=f, timeout=60)
    t.check(p.returncode == 0, f"-F 2 checkpoint exit {p.returncode}")
    v = subprocess.run([t.tool("cr_info"), "--verify", stream], capture_output=True, text=True)
    t.check(v.returncode == 0, f"the image written to stderr verifies: {v.stderr}")

    t.section("on a terminal")
    master, slave = pty.openpty()
    p = subprocess.Popen([t.cr_checkpoint, "--progress=tty", "--clobber", "-f", img, str(s.pid)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    t.check(p.wait(30) == 0, "checkpoint on a terminal")
    text = seen.decode(errors="replace")
    t.log(repr(text[-400:]))
    t.check(re.search(r"\rcr_checkpoint: +\d+% [\d.]+ of [\d.]+ MiB written", text) is not None,
            "a live line rewritten with \\r, with a percentage")
    t.check(SUMMARY.search(text) is not None, "then the summary")
    t.kill_subject(s)


if __name__ == "__main__":
    clitest.main(body)
