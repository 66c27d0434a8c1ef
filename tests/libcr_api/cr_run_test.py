#!/usr/bin/python3
"""cr_run (BLCR-API.md 3.1): options, LD_PRELOAD editing, the library really mapped in the
command and its descendants, symbol hygiene of libcr_run, exit codes.

    cr_run_test.py --tools DIR --probe PATH [--as-user]

DIR holds cr_run and the libraries (the build tree's tools directory); PATH is run_probe.
Standard library only, runs under /usr/bin/python3 (also as uid 65534)."""
import argparse
import os
import shutil
import subprocess
import tempfile
import sys

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(cr_run, args, env_preload=None, unset=False):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if env_preload is not None:
        env["LD_PRELOAD"] = env_preload
    p = subprocess.run([cr_run] + args, env=env, capture_output=True, text=True, timeout=30)
    return p


def probe(cr_run, args, env_preload=None):
    p = run(cr_run, args, env_preload)
    values = {}
    for line in p.stdout.splitlines():
        key, _, value = line.partition("=")
        values[key] = value
    return p, values


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools", required=True)
    ap.add_argument("--probe", required=True)
    opts = ap.parse_args()
    cr_run = os.path.join(opts.tools, "cr_run")
    libdir = os.path.realpath(opts.tools)
    run_lib = os.path.join(libdir, "libcr_run.so.0")
    omit_lib = os.path.join(libdir, "libcr_omit.so.0")
    other = "/lib/x86_64-linux-gnu/libm.so.6"

    p = run(cr_run, ["--version"])
    want = run(os.path.join(opts.tools, "cr_checkpoint"), ["--version"]).stdout.replace("cr_checkpoint", "cr_run")
    check(p.returncode == 0 and p.stdout == want and "(crest)" in want,
          "--version prints crest's version as the other tools do, %r (got %r, rc %d)" % (want, p.stdout, p.returncode))
    for flag in ("--help", "-?"):
        p = run(cr_run, [flag])
        check(p.returncode == 0 and "--omit" in p.stdout, "%s: usage on stdout, exit 0" % flag)
    p = run(cr_run, [])
    check(p.returncode == 255 and "no command" in p.stderr, "no command: exit 255 with a message (rc %d)" % p.returncode)
    p = run(cr_run, ["--omit", "--"])
    check(p.returncode == 255, "options but no command: exit 255")

    # Default: libcr_run, by full path, mapped; only its own symbols visible.
    p, v = probe(cr_run, [opts.probe])
    check(p.returncode == 0, "probe under cr_run exits 0 (rc %d, stderr %r)" % (p.returncode, p.stderr))
    check(v.get("LD_PRELOAD") == run_lib, "default LD_PRELOAD is %s (got %r)" % (run_lib, v.get("LD_PRELOAD")))
    check(v.get("mapped_run") == "1" and v.get("mapped_omit") == "0" and v.get("mapped_libcr") == "0",
          "libcr_run.so is mapped, nothing else of libcr (%r)" % v)
    check(v.get("cr_init") == "absent", "dlsym(RTLD_DEFAULT, cr_init) fails under cr_run")
    check(v.get("cr_request_checkpoint") == "absent", "libcr_run does not export the request API")
    check(v.get("cr_run_link_me") == "found", "libcr_run exports cr_run_link_me")
    check("cannot be preloaded" not in p.stderr, "the loader found the library (%r)" % p.stderr)

    p, v = probe(cr_run, ["--omit", opts.probe])
    check(v.get("LD_PRELOAD") == omit_lib, "--omit: LD_PRELOAD is %s (got %r)" % (omit_lib, v.get("LD_PRELOAD")))
    check(v.get("mapped_omit") == "1" and v.get("mapped_run") == "0", "--omit maps libcr_omit.so only")
    check(v.get("cr_omit_link_me") == "found" and v.get("cr_init") == "absent", "libcr_omit's symbols")

    # Last of --omit/--run wins.
    p, v = probe(cr_run, ["--omit", "--run", opts.probe])
    check(v.get("LD_PRELOAD") == run_lib, "--omit --run: run wins")
    p, v = probe(cr_run, ["--run", "--omit", "--omit", opts.probe])
    check(v.get("LD_PRELOAD") == omit_lib, "--run --omit --omit: omit wins")

    # The first non-option ends option processing; "--" too.
    p, v = probe(cr_run, [opts.probe, "--omit"])
    check(v.get("LD_PRELOAD") == run_lib and v.get("arg1") == "--omit", "options after the command are its own")
    p, v = probe(cr_run, ["--omit", "--", opts.probe, "--run", "x y"])
    check(v.get("LD_PRELOAD") == omit_lib and v.get("arg1") == "--run" and v.get("arg2") == "x y",
          "'--' ends the options; arguments are passed as they are (%r)" % v)

    # An existing LD_PRELOAD: our library first, other copies of either library and empty
    # elements removed, the rest kept in order.
    existing = "/nowhere/libcr_omit.so.0::%s:/x/libcr_run.so:libcr_run.so.0.5.5::" % other
    p, v = probe(cr_run, [opts.probe], env_preload=existing)
    check(v.get("LD_PRELOAD") == run_lib + ":" + other,
          "LD_PRELOAD %r becomes %r (got %r)" % (existing, run_lib + ":" + other, v.get("LD_PRELOAD")))
    p, v = probe(cr_run, [opts.probe], env_preload=":")
    check(v.get("LD_PRELOAD") == run_lib, "LD_PRELOAD ':' becomes just the library")

    # Descendants inherit it: a shell started under cr_run starts the probe.
    p, v = probe(cr_run, ["--omit", "/bin/sh", "-c", 'exec "$0"', opts.probe])
    check(v.get("mapped_omit") == "1", "a grandchild started through sh has libcr_omit mapped")

    # The command's exit status is cr_run's (exec); a missing command fails like exec.
    p = run(cr_run, ["/bin/sh", "-c", "exit 7"])
    check(p.returncode == 7, "cr_run exits with the command's status (rc %d)" % p.returncode)
    p = run(cr_run, ["/nonexistent/program"])
    check(p.returncode in (126, 127), "a command that cannot be run fails with 126/127 (rc %d)" % p.returncode)

    # Through a symlink elsewhere, and found through PATH: the libraries are still found
    # from the script's real location.
    tmp = tempfile.mkdtemp(prefix="crest-cr_run-")
    try:
        link = os.path.join(tmp, "cr_run")
        os.symlink(os.path.realpath(cr_run), link)
        p, v = probe(link, [opts.probe])
        check(v.get("LD_PRELOAD") == run_lib, "through a symlink: %r" % v.get("LD_PRELOAD"))
        env = dict(os.environ)
        env["PATH"] = tmp + ":" + env.get("PATH", "/usr/bin:/bin")
        env.pop("LD_PRELOAD", None)
        p = subprocess.run(["sh", "-c", 'cr_run "$0"', opts.probe], env=env, capture_output=True,
                           text=True, timeout=30)
        check("LD_PRELOAD=%s\n" % run_lib in p.stdout, "found through PATH: %r %r" % (p.stdout, p.stderr))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if failures:
        print("cr_run_test: %d failure(s) (uid %d)" % (len(failures), os.getuid()), file=sys.stderr)
        return 1
    print("cr_run_test: all checks passed (uid %d)" % os.getuid())
    return 0


if __name__ == "__main__":
    sys.exit(main())
