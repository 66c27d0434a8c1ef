"""What "the target runs on intact" means for the interrupted-checkpoint tests
(interrupted_checkpoint.py, killed_checkpoint.py): a checksum_threads subject whose
signal mask (every thread's SigBlk), executable bytes (every executable mapping, the
vdso included, read through /proc/PID/mem) and threads are what they were, that is not
traced, not stopped, keeps printing, and reports no damage ("BAD ...")."""
import os
import re
import subprocess
import time

import clitest

MAX_CODE_BYTES = 4 << 20


def exec_areas(pid):
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            if "x" not in fields[1] or line.rstrip().endswith("[vsyscall]"):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            out.append((start, end, fields[5] if len(fields) > 5 else ""))
    return out


def snapshot(pid):
    """{tid: SigBlk}, {area: bytes}, the sorted thread ids and the mapping count."""
    tids = sorted(int(x) for x in os.listdir(f"/proc/{pid}/task"))
    masks = {tid: clitest.status_field(f"{pid}/task/{tid}", "SigBlk") for tid in tids}
    code = {}
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for start, end, name in exec_areas(pid):
            size = min(end - start, MAX_CODE_BYTES)
            try:
                code[(start, name)] = os.pread(mem.fileno(), size, start)
            except OSError:
                pass
    with open(f"/proc/{pid}/maps") as f:
        areas = sum(1 for _ in f)
    return {"masks": masks, "code": code, "tids": tids, "areas": areas}


def problems(t, s, before, check_areas=True):
    """What is wrong with the subject s now, against the snapshot before ([] if intact)."""
    out = []
    # The kernel detaches the target when its tracer dies: give it a moment.
    clitest.wait_for(lambda: clitest.tracer_pid(s.pid) in (0, None), 2)
    st = clitest.read_stat(s.pid)
    if st is None or st.state in ("Z", "X"):
        return [f"died ({clitest.describe_status(s.popen.poll())}); output tail {s.text()[-120:]!r}"]
    if clitest.tracer_pid(s.pid) != 0:
        out.append(f"still traced by {clitest.tracer_pid(s.pid)}")
    if st.state in ("T", "t"):
        out.append(f"left stopped (state {st.state})")
    n = s.last_counter()
    if not clitest.wait_for(lambda: (s.last_counter() or -1) > (n if n is not None else -1), 2):
        out.append(f"its counter does not move ({n})")
    if any(l.startswith("BAD") for l in s.lines()):
        out.append(f"reports damage: {[l for l in s.lines() if l.startswith('BAD')]}")
    now = snapshot(s.pid)
    if now["tids"] != before["tids"]:
        out.append(f"threads {now['tids']}, were {before['tids']}")
    for tid, mask in before["masks"].items():
        if now["masks"].get(tid) != mask:
            out.append(f"thread {tid}: SigBlk {now['masks'].get(tid)}, was {mask}")
    for key, data in before["code"].items():
        if now["code"].get(key) != data:
            out.append(f"code bytes of {key[1] or 'anonymous'} at {key[0]:#x} changed")
    if check_areas and now["areas"] != before["areas"]:
        out.append(f"{now['areas']} memory areas, were {before['areas']}")
    return out


def start_subject(t, threads, name):
    s = t.spawn([t.helper("checksum_threads"), str(threads)], name=name)
    t.wait_output(s, lambda: len(s.counters()) >= 3 and sum(l.startswith("tid ") for l in s.lines()) == threads - 1,
                  "3 counter lines and the workers' tids")
    return s


PTRACE_LINE = re.compile(r"ptrace\((PTRACE_\w+)")


def ptrace_calls(t, pid, workdir):
    """The ptrace requests (in order) one whole cr_checkpoint of pid makes, as strace sees them."""
    log = os.path.join(workdir, "strace.log")
    img = os.path.join(workdir, "count.img")
    r = t.run(["strace", "-f", "-qq", "-o", log, "-e", "trace=ptrace", t.cr_checkpoint, "-f", img, pid], timeout=60)
    t.require(r.rc == 0, f"the counting checkpoint failed: {r}")
    os.unlink(img)
    with open(log) as f:
        calls = [m.group(1) for line in f for m in [PTRACE_LINE.search(line)] if m and "resumed>" not in line]
    os.unlink(log)
    t.require(len(calls) > 20, f"only {len(calls)} ptrace calls seen")
    return calls


def checkpoint_with_signal_at(t, pid, n, sig, workdir, extra=()):
    """cr_checkpoint -f workdir/img pid under strace, which sends it sig as it enters its
    n-th ptrace call. Returns the Result."""
    img = os.path.join(workdir, "img")
    return t.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=ptrace",
                  "-e", f"inject=ptrace:signal={sig}:when={n}", t.cr_checkpoint, *extra, "-f", img, pid], timeout=60)
