#!/usr/bin/env python3
"""Makes the fuzzers' seed corpus from real images: a sleeping process and a small
shell tree with a pipe, checkpointed plain and compressed (zstd, lz4) by the tools of
an ordinary build. corpus/image gets the whole images; corpus/record one seed per
metadata section (u32 section type, then the payload), as record_fuzzer reads them.
Every process started here is killed by its pid and reaped, also on failure."""
import argparse
import ctypes
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HEADER_SIZE = 128
PAGE_SECTIONS = (3, 11)
TRAILER = 0xFFFF


def sections(data):
    off, out = HEADER_SIZE, []
    while off + 32 <= len(data):
        magic, typ, _owner, _check, length, _sum = struct.unpack_from("<IIIIQQ", data, off)
        if magic != 0x45535243:
            raise ValueError(f"no section magic at byte {off}")
        out.append((typ, data[off + 32:off + 32 + length]))
        off += 32 + length
        if typ == TRAILER:
            break
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="an ordinary crest build directory")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    checkpoint = os.path.join(args.build, "tools", "cr_checkpoint")
    if not os.access(checkpoint, os.X_OK):
        print(f"make_corpus: {checkpoint} is not there: build crest first", file=sys.stderr)
        return 1
    # A subreaper: the shell's children are reaped here, not left to PID 1.
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    shutil.rmtree(args.out, ignore_errors=True)
    for d in ("image", "record"):
        os.makedirs(os.path.join(args.out, d))
    scratch = tempfile.mkdtemp(prefix="crest-fuzz-corpus-")
    subjects = []
    try:
        subjects.append(subprocess.Popen(["sleep", "300"]))
        subjects.append(subprocess.Popen(["sh", "-c", "sleep 300 | cat & sleep 300; wait"]))
        time.sleep(0.3)
        n = 0
        for s in subjects:
            for opts in ([], ["--compress=zstd"], ["--compress=lz4"]):
                img = os.path.join(scratch, f"img{n}")
                r = subprocess.run([checkpoint, "--tree", *opts, "-f", img, str(s.pid)], capture_output=True, text=True,
                                   timeout=60)
                if r.returncode != 0:
                    print(f"make_corpus: checkpoint of {s.pid} {opts} failed: {r.stderr}", file=sys.stderr)
                    return 1
                with open(img, "rb") as f:
                    data = f.read()
                shutil.copy(img, os.path.join(args.out, "image", f"img{n}"))
                for i, (typ, payload) in enumerate(sections(data)):
                    if typ in PAGE_SECTIONS or typ == TRAILER:
                        continue
                    with open(os.path.join(args.out, "record", f"img{n}.{i}"), "wb") as f:
                        f.write(struct.pack("<I", typ) + payload)
                n += 1
        print(f"make_corpus: {n} images, {len(os.listdir(os.path.join(args.out, 'record')))} record seeds")
        return 0
    finally:
        for s in subjects:
            # The shell's children first (by pid, from /proc), then the shell.
            kids = []
            for p in os.listdir("/proc"):
                if p.isdigit():
                    try:
                        with open(f"/proc/{p}/stat") as f:
                            if int(f.read().rsplit(")", 1)[1].split()[1]) == s.pid:
                                kids.append(int(p))
                    except (OSError, ValueError, IndexError):
                        pass
            for k in kids:
                try:
                    os.kill(k, 9)
                except ProcessLookupError:
                    pass
            s.kill()
            s.wait()
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
