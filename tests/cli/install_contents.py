#!/usr/bin/env python3
"""`cmake --install` into an empty prefix installs the tools, libcr's three libraries,
BLCR's public headers, libcr.pc, the CMake package and the manual pages, and nothing else:
no header of crest's own (include/crest) and not its engine library (libcrest_engine.a).
One version, CMakeLists.txt's project(VERSION), is what every tool's --version prints,
libcr.pc's Version, the CMake package's version, the manual pages' footer and the
crest_version of an image; BLCR's compatibility version stays where BLCR programs read it
(libcr.so.0.5.5, CR_RELEASE_VERSION in blcr_common.h)."""
import fnmatch
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALLOWED = ["bin/cr_checkpoint", "bin/cr_restart", "bin/cr_info", "bin/cr_run",
           "lib/libcr.so*", "lib/libcr_run.so*", "lib/libcr_omit.so*",
           "include/libcr.h", "include/blcr_common.h", "include/blcr_errcodes.h", "include/blcr_proc.h",
           "include/blcr_ioctl.h", "lib/pkgconfig/libcr.pc", "lib/cmake/crest/*.cmake",
           "share/man/man1/*.1", "share/man/man3/*.3"]


def project_version():
    with open(os.path.join(SOURCE, "CMakeLists.txt")) as f:
        return re.search(r"project\(crest VERSION ([0-9.]+)", f.read()).group(1)


def body(t):
    version = project_version()
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(t.helper("spin_print")))))  # BUILD/tests/cli/
    prefix = t.path("prefix")
    r = t.run(["cmake", "--install", build, "--prefix", prefix], timeout=120)
    t.require(r.rc == 0, f"cmake --install: {r}")
    files = sorted(os.path.relpath(os.path.join(d, n), prefix) for d, _, names in os.walk(prefix) for n in names)
    t.log("installed: " + " ".join(files))
    stray = [f for f in files if not any(fnmatch.fnmatch(f, p) for p in ALLOWED)]
    t.check(not stray, f"nothing but the public files is installed: {stray}")
    t.check(not os.path.exists(os.path.join(prefix, "include", "crest")), "no include/crest")
    t.check(not any("crest_engine" in f for f in files), "no engine library")
    for page in ("man1/cr_checkpoint.1", "man1/cr_restart.1", "man1/cr_run.1", "man1/cr_info.1", "man3/libcr.3",
                 "man3/cr_register_callback.3"):
        t.check(f"share/man/{page}" in files, f"the manual page {page} is installed")

    t.section(f"one version: {version}")
    for tool in ("cr_checkpoint", "cr_restart", "cr_info", "cr_run"):
        p = subprocess.run([os.path.join(prefix, "bin", tool), "--version"], capture_output=True, text=True)
        t.check(p.returncode == 0 and p.stdout == f"{tool} version {version} (crest)\n", f"{tool} --version: {p.stdout!r}")
    with open(os.path.join(prefix, "lib/pkgconfig/libcr.pc")) as f:
        t.check(f"\nVersion: {version}\n" in f.read(), "libcr.pc's Version")
    with open(os.path.join(prefix, "lib/cmake/crest/crestConfigVersion.cmake")) as f:
        t.check(f'set(PACKAGE_VERSION "{version}")' in f.read(), "the CMake package's version")
    with open(os.path.join(prefix, "share/man/man1/cr_info.1")) as f:
        t.check(f'"crest {version}"' in f.read(), "the manual pages' footer")
    s = t.spin_print()
    img = t.path("img")
    r = t.run([os.path.join(prefix, "bin", "cr_checkpoint"), "-f", img, s.pid])
    t.require(r.rc == 0, f"checkpoint with the installed cr_checkpoint: {r}")
    t.kill_subject(s)
    j = subprocess.run([os.path.join(prefix, "bin", "cr_info"), "--json", img], capture_output=True, text=True)
    t.check(j.returncode == 0 and json.loads(j.stdout)["header"]["crest_version"] == version, "the image's crest_version")

    t.section("BLCR's compatibility version stays")
    t.check(os.path.isfile(os.path.join(prefix, "lib/libcr.so.0.5.5")), "libcr.so.0.5.5 (BLCR's file name)")
    with open(os.path.join(prefix, "include/blcr_common.h")) as f:
        t.check('#define CR_RELEASE_VERSION "0.8.6_b4"' in f.read(), "CR_RELEASE_VERSION is BLCR's 0.8.6_b4")


if __name__ == "__main__":
    clitest.main(body)
