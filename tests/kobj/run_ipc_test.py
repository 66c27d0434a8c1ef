#!/usr/bin/python3
"""Runs ../e2e/run_e2e.py (arguments passed on) for a program that makes System V IPC
objects, then removes, by id, every object its runs listed in an ipc.ids file
("sem|msg ID KEY" lines) that still exists with that key: a test that fails half-way
leaves none behind. A passing test must not leave any (the program removes its own).
The scratch directories live in one work directory made here (--work), removed on
success and kept on failure."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def existing(kind):
    """{id: key} of the System V objects of this kind ("sem" or "msg")."""
    out = {}
    try:
        with open("/proc/sysvipc/%s" % kind) as f:
            next(f)
            for line in f:
                cols = line.split()
                out[int(cols[1])] = int(cols[0])
    except FileNotFoundError:
        pass
    return out


def main():
    work = tempfile.mkdtemp(prefix="crest-kobj-ipc-")
    os.chmod(work, 0o755)
    rc = 1
    try:
        rc = subprocess.call([sys.executable, os.path.join(HERE, "..", "e2e", "run_e2e.py"),
                              "--work", work] + sys.argv[1:])
    finally:
        left = []
        for dirpath, _, files in os.walk(work):
            if "ipc.ids" not in files:
                continue
            with open(os.path.join(dirpath, "ipc.ids")) as f:
                for line in f:
                    kind, ident, key = line.split()
                    if existing(kind).get(int(ident)) == int(key):
                        left.append((kind, int(ident)))
        for kind, ident in left:
            subprocess.call(["ipcrm", "-s" if kind == "sem" else "-q", str(ident)])
            print("removed leftover System V %s %d" % (kind, ident), flush=True)
        if left and rc == 0:
            print("FAIL: the test left System V objects behind", flush=True)
            rc = 1
        if rc == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("scratch kept in %s" % work, flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
