#!/usr/bin/env python3
"""Output-file options of cr_checkpoint: -f creates a 0400 file; --noclobber
refuses an existing file (exit 17, file untouched); --clobber overwrites in place
(and makes a world-readable file 0400);
--backup keeps the old file as FILE.~1~, FILE.~2~, ...; the default (atomic)
replaces the file and leaves no temporary files; without -f the image is
context.PID in the cwd; -F 1 streams the image to stdout."""
import hashlib
import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def head(path, n=8):
    with open(path, "rb") as f:
        return f.read(n)


def body(t):
    s = t.spin_print()
    d = t.mkdir("imgs")
    img = os.path.join(d, "img")

    def ckpt(*args, cwd=d, **kw):
        time.sleep(0.2)  # let the counter move so successive images differ
        return t.run([t.cr_checkpoint, *args, s.pid], cwd=cwd, **kw)

    def listing():
        return sorted(os.listdir(d))

    t.section("-f img creates a 0400 image")
    r = ckpt("-f", img)
    t.require(r.rc == 0, f"cr_checkpoint -f img failed: {r}")
    t.require(os.path.isfile(img), "image file not created")
    mode = os.stat(img).st_mode & 0o7777
    t.check(mode == 0o400, f"image mode is {oct(mode)}, expected 0o400")
    magic = head(img)
    t.check(magic == clitest.IMAGE_MAGIC, f"image starts with {magic!r}, expected {clitest.IMAGE_MAGIC!r}")
    t.check(listing() == ["img"], f"unexpected files next to the image: {listing()}")

    t.section("--noclobber refuses to overwrite")
    st0, h0 = os.stat(img), digest(img)
    r = ckpt("--noclobber", "-f", img)
    t.check(r.rc == 17, f"--noclobber on an existing file should exit 17 (EEXIST): {r}")
    t.check(r.err.strip(), f"--noclobber refusal should be explained on stderr: {r}")
    st1 = os.stat(img)
    t.check(digest(img) == h0 and st1.st_ino == st0.st_ino and st1.st_mtime_ns == st0.st_mtime_ns,
            "--noclobber modified the existing image")
    t.check(listing() == ["img"], f"--noclobber left files: {listing()}")

    t.section("--noclobber to a new file works")
    r = ckpt("--noclobber", "-f", os.path.join(d, "fresh"))
    t.check(r.rc == 0, f"--noclobber to a new path should succeed: {r}")
    t.check(os.path.isfile(os.path.join(d, "fresh")), "--noclobber did not create the new file")
    if os.path.exists(os.path.join(d, "fresh")):
        os.unlink(os.path.join(d, "fresh"))

    t.section("--clobber overwrites")
    r = ckpt("--clobber", "-f", img)
    t.check(r.rc == 0, f"--clobber failed: {r}")
    h1 = digest(img)
    t.check(h1 != h0, "--clobber left the old image content in place")
    t.check(head(img) == clitest.IMAGE_MAGIC, "--clobber image lacks the magic")
    t.check(listing() == ["img"], f"--clobber left files: {listing()}")
    mode = os.stat(img).st_mode & 0o7777
    t.check(mode == 0o400, f"--clobber image has mode {oct(mode)}, expected 0o400")

    t.section("--clobber over a world-readable file: the image is 0400 all the same")
    os.chmod(img, 0o644)
    ino = os.stat(img).st_ino
    r = ckpt("--clobber", "-f", img)
    t.check(r.rc == 0, f"--clobber over a 0644 file failed: {r}")
    t.check(os.stat(img).st_ino == ino, "--clobber did not write the file in place")
    mode = os.stat(img).st_mode & 0o7777
    t.check(mode == 0o400, f"--clobber kept the world-readable mode {oct(mode)}, expected 0o400")
    h1 = digest(img)

    t.section("--backup renames the old image to img.~1~, then img.~2~")
    r = ckpt("--backup", "-f", img)
    t.check(r.rc == 0, f"--backup failed: {r}")
    b1 = os.path.join(d, "img.~1~")
    t.check(listing() == ["img", "img.~1~"], f"after the first --backup: {listing()}")
    if os.path.exists(b1):
        t.check(digest(b1) == h1, "img.~1~ is not the previous image")
    h2 = digest(img) if os.path.exists(img) else None
    t.check(h2 is not None and h2 != h1, "--backup did not write a new image")
    r = ckpt("--backup", "-f", img)
    t.check(r.rc == 0, f"second --backup failed: {r}")
    b2 = os.path.join(d, "img.~2~")
    t.check(listing() == ["img", "img.~1~", "img.~2~"], f"after the second --backup: {listing()}")
    if os.path.exists(b2):
        t.check(digest(b2) == h2, "img.~2~ is not the previous image")
    if os.path.exists(b1):
        t.check(digest(b1) == h1, "the second --backup changed img.~1~")

    t.section("default (atomic) replaces the image, no temporary files left")
    h3 = digest(img)
    ino3 = os.stat(img).st_ino
    r = ckpt("-f", img)
    t.check(r.rc == 0, f"default checkpoint over an existing image failed: {r}")
    t.check(digest(img) != h3, "the default mode did not replace the existing image")
    t.log(f"  inode {ino3} -> {os.stat(img).st_ino}")
    t.check(listing() == ["img", "img.~1~", "img.~2~"], f"leftovers after an atomic checkpoint: {listing()}")
    r = ckpt("--atomic", "-f", img)
    t.check(r.rc == 0, f"--atomic failed: {r}")
    t.check(listing() == ["img", "img.~1~", "img.~2~"], f"leftovers after --atomic: {listing()}")
    mode = os.stat(img).st_mode & 0o7777
    t.check(mode == 0o400, f"atomically replaced image has mode {oct(mode)}, expected 0o400")

    t.section("no -f: context.PID in the current directory")
    cwd = t.mkdir("cwd")
    r = ckpt(cwd=cwd)
    t.check(r.rc == 0, f"cr_checkpoint PID failed: {r}")
    names = sorted(os.listdir(cwd))
    t.check(names == [f"context.{s.pid}"], f"expected exactly context.{s.pid} in the cwd, found {names}")
    ctx = os.path.join(cwd, f"context.{s.pid}")
    if os.path.exists(ctx):
        t.check(head(ctx) == clitest.IMAGE_MAGIC, "context.PID lacks the image magic")
        mode = os.stat(ctx).st_mode & 0o7777
        t.check(mode == 0o400, f"context.PID has mode {oct(mode)}, expected 0o400")

    t.section("-F 1 streams the image to stdout")
    stream = t.path("stream.img")
    with open(stream, "wb") as f:
        r = ckpt("-F", "1", cwd=cwd, stdout=f)
    t.check(r.rc == 0, f"cr_checkpoint -F 1 failed: {r}")
    t.check(os.path.getsize(stream) > clitest.HEADER_SIZE,
            f"-F 1 wrote only {os.path.getsize(stream)} bytes")
    t.check(head(stream) == head(img), f"-F 1 output starts with {head(stream)!r}, not the magic {head(img)!r}")
    t.check(sorted(os.listdir(cwd)) == [f"context.{s.pid}"], f"-F 1 created files in the cwd: {os.listdir(cwd)}")

    t.check_running(s, "the target after all these checkpoints")


if __name__ == "__main__":
    clitest.main(body)
