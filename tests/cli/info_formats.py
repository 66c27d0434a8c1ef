#!/usr/bin/env python3
"""cr_info's formats, on the image of a Python process with two threads, a zombie
child, a pipe, a SIGTERM handler, SIGHUP ignored and a lowered RLIMIT_NOFILE:
- the default summary names the process (pid, ppid, comm, exe), its threads, group and
  session, memory by kind, each fd by kind, signals and limits by name, x86_64, the
  image's size and that it is verified, and the zombie with its exit status;
- --records prints every section with its fields;
- --json is valid JSON (python3 -m json.tool), with the schema of docs/cr_info.md and the
  same facts (kinds as names);
- --version prints the version cr_checkpoint prints; a stream ("-") reads the same."""
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

SUBJECT = r"""
import os, resource, signal, sys, threading, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (77, hard))
signal.signal(signal.SIGTERM, lambda *a: None)
signal.signal(signal.SIGHUP, signal.SIG_IGN)
r, w = os.pipe()
if os.fork() == 0:
    os._exit(3)
threading.Thread(target=lambda: time.sleep(1000), daemon=True).start()
time.sleep(0.2)
print("ready", threading.get_native_id(), flush=True)
while True:
    time.sleep(0.05)
"""


def info(t, *args, stdin=None):
    argv = [t.tool("cr_info"), *args]
    t.log("  $ " + " ".join(argv))
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=stdin)


def body(t):
    s = t.spawn([sys.executable, "-c", SUBJECT], name="py")
    t.wait_output(s, lambda: any(l.startswith("ready") for l in s.lines()), "ready")
    zombies = [st for st in clitest.children_of(s.pid) if st.state == "Z"]
    t.require(len(zombies) == 1, f"the subject has one zombie child: {clitest.children_of(s.pid)}")
    zombie = zombies[0].pid
    img = t.path("img")
    r = t.run([t.cr_checkpoint, "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint failed: {r}")
    tids = sorted(int(x) for x in os.listdir(f"/proc/{s.pid}/task"))
    exe = os.readlink(f"/proc/{s.pid}/exe")
    t.kill_subject(s)

    t.section("summary (the default)")
    r = info(t, img)
    t.check(r.returncode == 0, f"cr_info exits 0: {r.stderr}")
    out = r.stdout
    t.log(out)
    size = os.path.getsize(img)
    for want in (f"image {img}: ", "complete, every checksum verified", "x86_64", "1 process, 2 threads, 1 zombie",
                 f"process {s.pid} (python3) {exe}", f"parent {os.getpid()}, process group ", "threads: " + " ".join(map(str, tids)),
                 "anonymous", "file-private", "pipe:[", "signals ignored:", "SIGHUP",
                 "NOFILE=77/", f"zombie {zombie} (parent {s.pid}): exit status 3"):
        t.check(want in out, f"the summary says {want!r}")
    t.check(re.search(r"\d+\.\d KiB|MiB", out.splitlines()[0]) is not None, "the image size is given in KiB/MiB")
    handlers = [l for l in out.splitlines() if l.strip().startswith("signal handlers:")]
    t.check(handlers and "SIGTERM" in handlers[0].split(), f"SIGTERM among the handled signals: {handlers}")
    t.check("arch 62" not in out and "kind" not in out, "names, not numbers")
    fd_lines = [l.split() for l in out.splitlines() if re.match(r"^\s+\d+ [a-z-]+ ", l)]
    kinds = {int(l[0]): l[1] for l in fd_lines}
    t.check(list(kinds.values()).count("pipe") == 2 and kinds.get(0) == "regular",
            f"each fd with its kind (two pipe ends, fd 0 a regular file): {kinds}")
    t.check(len(out.splitlines()) < 60, f"a summary fits a screen ({len(out.splitlines())} lines)")

    t.section("--records")
    r = info(t, "--records", img)
    t.check(r.returncode == 0, f"--records exits 0: {r.stderr}")
    for want in ("section ProcessTree", "section Process ", "section Thread", "section FdTable", "section MemoryMap",
                 "section MemoryPages", "comm: \"python3\"", "run ", "image " + img + ": complete and verified"):
        t.check(want in r.stdout, f"--records prints {want!r}")
    t.check(r.stdout.count("section Thread") == 2, "one Thread section per thread")

    t.section("--json")
    r = info(t, "--json", img)
    t.check(r.returncode == 0, f"--json exits 0: {r.stderr}")
    tool = subprocess.run([sys.executable, "-m", "json.tool"], input=r.stdout, capture_output=True, text=True)
    t.check(tool.returncode == 0, f"python3 -m json.tool accepts it: {tool.stderr}")
    try:
        doc = json.loads(r.stdout)
    except ValueError as e:
        t.fail_now(f"--json is not JSON: {e}")
    t.check(doc["file"] == img and doc["bytes"] == size and doc["verified"] is True, "file, bytes and verified")
    t.check(doc["header"]["arch"] == "x86_64" and doc["header"]["page_size"] == os.sysconf("SC_PAGE_SIZE"), "header")
    t.check([e["pid"] for e in doc["tree"]["processes"]] == [s.pid, zombie] and doc["tree"]["processes"][1]["zombie"] == 1,
            f"the tree: {doc['tree']}")
    t.check(len(doc["processes"]) == 1, "one live process")
    p = doc["processes"][0]
    t.check(p["process"]["pid"] == s.pid and p["process"]["comm"] == "python3" and p["process"]["exe"] == exe, "process")
    t.check(sorted(th["tid"] for th in p["threads"]) == tids, f"threads {[th['tid'] for th in p['threads']]} == {tids}")
    t.check(p["process"]["rlimits"][7]["cur"] == 77, "rlimits indexed by RLIMIT_* (7 = NOFILE)")
    t.check(p["signals"]["actions"][14]["handler"] not in (0, 1) and p["signals"]["actions"][0]["handler"] == 1,
            "actions indexed by signal - 1: SIGTERM handled, SIGHUP ignored (1 = SIG_IGN)")
    t.check(all(isinstance(f["kind"], str) for f in p["fds"]["fds"]) and
            [f["kind"] for f in p["fds"]["fds"]].count("pipe") == 2, "fd kinds as names")
    t.check(all(isinstance(v["kind"], str) for v in p["memory"]["vmas"]), "area kinds as names")
    t.check(p["saved_pages"] > 0 and doc["page_sections"] > 0, "saved pages counted")
    t.check(re.fullmatch(r"[0-9a-f]+", p["threads"][0]["gp_regs"]) is not None, "byte fields as hex")

    t.section("a stream, --version, usage")
    with open(img, "rb") as f:
        r = info(t, "--verify", "-", stdin=f)
    t.check(r.returncode == 0 and "complete and verified" in r.stdout, f"--verify - reads standard input: {r}")
    v = info(t, "--version")
    c = subprocess.run([t.cr_checkpoint, "--version"], capture_output=True, text=True)
    num = re.search(r"version (\S+)", c.stdout)
    t.check(v.returncode == 0 and num and v.stdout.strip() == f"cr_info version {num.group(1)} (crest)",
            f"--version: {v.stdout!r} (cr_checkpoint: {c.stdout!r})")
    t.check(info(t).returncode == 255, "no image: usage error (255)")
    t.check(info(t, "--bogus", img).returncode == 255, "unknown option: usage error (255)")


if __name__ == "__main__":
    clitest.main(body)
