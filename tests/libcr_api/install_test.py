#!/usr/bin/python3
"""cmake --install of the libcr component into a temporary prefix, then programs built
against the installed files only: with `pkg-config --cflags --libs libcr` and with a small
CMake project using find_package(crest) and crest::cr; the installed cr_run finds
libcr_run.so.0 in the prefix's library directory; with cr_checkpoint in the prefix's bin
directory (copied from TOOLS, as a full install puts it), the installed libcr finds it there.

    install_test.py --build DIR --source TESTDIR --probe RUN_PROBE --tools TOOLS"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(cmd, env=None, cwd=None):
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        print("$ %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr), file=sys.stderr)
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--tools", required=True)
    opts = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="crest-install-")
    try:
        prefix = os.path.join(tmp, "prefix")
        p = run(["cmake", "--install", opts.build, "--component", "libcr", "--prefix", prefix])
        check(p.returncode == 0, "cmake --install --component libcr succeeds")
        if p.returncode != 0:
            return 1
        for rel in ("include/libcr.h", "include/blcr_common.h", "include/blcr_errcodes.h",
                    "include/blcr_proc.h", "include/blcr_ioctl.h", "lib/libcr.so.0.5.5",
                    "lib/libcr.so.0", "lib/libcr.so", "lib/libcr_run.so.0", "lib/libcr_omit.so.0",
                    "bin/cr_run", "lib/pkgconfig/libcr.pc", "lib/cmake/crest/crestConfig.cmake"):
            check(os.path.lexists(os.path.join(prefix, rel)), "installed %s" % rel)

        env = dict(os.environ)
        env.pop("LD_LIBRARY_PATH", None)
        env.pop("LD_PRELOAD", None)
        env["PKG_CONFIG_PATH"] = os.path.join(prefix, "lib", "pkgconfig")
        flags = run(["pkg-config", "--cflags", "--libs", "libcr"], env=env)
        check(flags.returncode == 0, "pkg-config --cflags --libs libcr")
        check(os.path.join(prefix, "include") in flags.stdout.replace("/lib/pkgconfig/../..", ""),
              "pkg-config's -I points into the prefix (%r)" % flags.stdout)
        version = run(["pkg-config", "--modversion", "libcr"], env=env)
        crest_version = run([os.path.join(opts.tools, "cr_checkpoint"), "--version"]).stdout.split()[2]
        check(version.stdout.strip() == crest_version,
              "pkg-config --modversion libcr is crest's version %s (got %r)" % (crest_version, version.stdout))
        prog = os.path.join(tmp, "prog_pc")
        source = os.path.join(opts.source, "installed_prog.c")
        p = run(["cc", "-o", prog, source] + flags.stdout.split(), env=env)
        check(p.returncode == 0, "a program builds with pkg-config's flags")
        if p.returncode == 0:
            p = run([prog], env=env)
            check(p.returncode == 0 and "libcr 0.5.5" in p.stdout, "the pkg-config program runs (%r)" % p.stdout)
            ldd = run(["ldd", prog], env=env)
            check(os.path.realpath(os.path.join(prefix, "lib")) in
                  ldd.stdout.replace(prefix, os.path.realpath(prefix)),
                  "it loads libcr.so.0 from the prefix (%s)" % ldd.stdout)

        proj = os.path.join(tmp, "proj")
        os.makedirs(proj)
        shutil.copy(source, proj)
        with open(os.path.join(proj, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.16)\n"
                    "project(uses_crest C)\n"
                    "find_package(crest REQUIRED)\n"
                    "add_executable(prog_cmake installed_prog.c)\n"
                    "target_link_libraries(prog_cmake PRIVATE crest::cr)\n")
        bdir = os.path.join(tmp, "proj-build")
        p = run(["cmake", "-S", proj, "-B", bdir, "-DCMAKE_PREFIX_PATH=" + prefix], env=env)
        check(p.returncode == 0, "find_package(crest) configures")
        p = run(["cmake", "--build", bdir], env=env)
        check(p.returncode == 0, "a program builds against crest::cr")
        if p.returncode == 0:
            p = run([os.path.join(bdir, "prog_cmake")], env=env)
            check(p.returncode == 0 and "CR_SIGNUM 64" in p.stdout, "the find_package program runs (%r)" % p.stdout)

        # libcr looks for cr_checkpoint at ../bin from itself when it is not beside it.
        shutil.copy(os.path.join(opts.tools, "cr_checkpoint"), os.path.join(prefix, "bin"))
        check(not os.path.exists(os.path.join(prefix, "lib", "cr_checkpoint")), "no cr_checkpoint in lib/")
        p = run([os.path.join(bdir, "prog_cmake"), "request"], env=env)
        check(p.returncode == 0 and "checkpointed pid" in p.stdout,
              "the installed libcr runs the prefix's bin/cr_checkpoint (%r %r)" % (p.stdout, p.stderr))

        p = run([os.path.join(prefix, "bin", "cr_run"), opts.probe], env=env)
        want = os.path.join(os.path.realpath(os.path.join(prefix, "lib")), "libcr_run.so.0")
        check("LD_PRELOAD=%s\n" % want in p.stdout and "mapped_run=1" in p.stdout,
              "installed cr_run preloads %s (%r)" % (want, p.stdout))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("install_test: %d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("install_test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
