#!/usr/bin/env python3
"""An MPI job (MPICH's mpiexec -n 2 on localhost, programs/mpi_ring.c: messages around
a ring, then a checksum) checkpointed with --tree from mpiexec mid-run, killed,
restarted: its output must equal an uninterrupted run's. Skipped (77) where mpicc or
mpiexec is not installed."""
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import clitest  # noqa: E402

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs", "mpi_ring.c")


def body(t):
    prog = t.path("mpi_ring")
    r = t.run(["mpicc", "-O1", "-o", prog, SOURCE], timeout=60)
    t.require(r.rc == 0, f"mpicc failed: {r}")
    r = t.run(["mpiexec", "-n", "2", prog], timeout=60)
    want = r.out.decode()
    t.require(r.rc == 0 and "checksum" in want, f"uninterrupted run failed: {r}")

    t.section("mid-run: checkpoint --tree --kill from mpiexec, then cr_restart")
    job = t.spawn(["mpiexec", "-n", "2", prog], name="job")
    time.sleep(1.5)
    t.require(job.running(), f"the job ended before the checkpoint: {job.text()}")
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "--tree", "--kill", "-f", img, job.pid], timeout=60)
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    job.wait(10)
    t.reap_zombie_orphans()
    t.check("checksum" not in job.text(), f"the job had finished at the checkpoint: {job.text()}")
    # The restored mpiexec writes to its own stdout again (the file reopened at its offset).
    rp = t.start([t.cr_restart, img])
    r = rp.wait(60)
    t.check(r.rc == 0, f"the restarted job did not exit 0: {r}")
    t.check(job.text() == want, f"output after restart {job.text()!r}, uninterrupted {want!r}")

if __name__ == "__main__":
    if not (shutil.which("mpicc") and shutil.which("mpiexec")):
        print("SKIP: MPICH (mpicc, mpiexec) is not installed (scripts/deps installs mpich, libmpich-dev)")
        sys.exit(77)
    clitest.main(body)
