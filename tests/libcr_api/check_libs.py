#!/usr/bin/python3
"""The three libraries as files: names and symlinks (libcr.so.0.5.5, soname libcr.so.0),
no C++ runtime among their NEEDED entries, and exactly the exported symbols BLCR's had
(BLCR-API.md 1.1): libcr the API, libcr_run / libcr_omit only their link_me and
cri_run_* / crsig_* style names.

    check_libs.py --libdir DIR"""
import argparse
import fnmatch
import os
import re
import subprocess
import sys

failures = []

# Section 1's functions and variables: every one must be exported by libcr.so.0.
API = """cr_init cri_init_checkpoint_args_t cri_init_restart_args_t cr_request_checkpoint
cr_forward_checkpoint cr_wait_checkpoint cr_log_checkpoint cr_reap_checkpoint
cr_poll_checkpoint_msg cr_poll_checkpoint cr_request_restart cr_wait_restart cr_log_restart
cr_reap_restart cr_poll_restart_msg cr_poll_restart cr_register_callback cr_replace_callback
cr_replace_self cr_checkpoint cr_get_checkpoint_info cr_get_restart_info cr_enter_cs
cr_tryenter_cs cr_leave_cs cr_status cr_register_hook cr_hold_ctrl cr_inc_persist
cr_dec_persist cr_spinlock_init cr_spinlock_lock cr_spinlock_unlock cr_spinlock_trylock
cr_strerror cr_request cr_request_file cr_request_fd cr_link_me cri_signum""".split()


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def readelf(*args):
    return subprocess.run(["readelf", "-W"] + list(args), capture_output=True, text=True,
                          check=True).stdout


def exported(path):
    names = set()
    for line in readelf("--dyn-syms", path).splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) >= 8 and f[0].endswith(":") and f[6] != "UND" and f[4] in ("GLOBAL", "WEAK") \
                and f[5] == "DEFAULT":
            names.add(f[7].split("@")[0])
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--libdir", required=True)
    opts = ap.parse_args()
    # sigaction/signal (and libcr's crsig_app_action): the application's own CR_SIGNUM
    # action, kept apart from libcr's handler (docs/libcr.md, "The application's action").
    shadow = ["sigaction", "signal"]
    allowed = {
        "libcr": ["cr_*", "cri_*", "crsig_app_action"] + shadow,
        "libcr_run": ["cr_run_*", "cri_run_*", "crsig_*"] + shadow,
        "libcr_omit": ["cr_omit_*", "cri_omit_*", "crsig_*"] + shadow,
    }
    for name, patterns in allowed.items():
        real = os.path.join(opts.libdir, name + ".so.0.5.5")
        check(os.path.isfile(real), "%s exists" % real)
        if not os.path.isfile(real):
            continue
        for link, target in ((name + ".so.0", name + ".so.0.5.5"), (name + ".so", name + ".so.0")):
            path = os.path.join(opts.libdir, link)
            check(os.path.islink(path) and os.readlink(path) == target, "%s -> %s" % (link, target))
        dynamic = readelf("-d", real)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
        soname = re.findall(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", dynamic)
        check(soname == [name + ".so.0"], "%s: soname %s (got %r)" % (name, name + ".so.0", soname))
        for lib in needed:
            check(not lib.startswith(("libstdc++", "libgcc_s")),
                  "%s needs no C++ runtime (NEEDED %s)" % (name, lib))
        check(re.search(r"\(FLAGS_1\).*NODELETE", dynamic) is not None,
              "%s is linked -z nodelete" % name)
        check("libc.so.6" in needed, "%s: NEEDED lists libc.so.6 (%r)" % (name, needed))
        syms = exported(real)
        stray = sorted(s for s in syms if not any(fnmatch.fnmatchcase(s, p) for p in patterns))
        check(not stray, "%s exports only %s (also: %s)" % (name, " ".join(patterns), " ".join(stray)))
        link_me = {"libcr": "cr_link_me", "libcr_run": "cr_run_link_me",
                   "libcr_omit": "cr_omit_link_me"}[name]
        check(link_me in syms, "%s exports %s" % (name, link_me))
        if name == "libcr":
            missing = sorted(set(API) - syms)
            check(not missing, "libcr exports all of BLCR's API (missing: %s)" % " ".join(missing))
        else:
            check("cr_init" not in syms and "cr_strerror" not in syms,
                  "%s does not export libcr's API" % name)
    if failures:
        print("check_libs: %d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("check_libs: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
