#!/usr/bin/env python3
"""Every manual page renders with `man -l` without a warning (groff -ww), each tool's page
names every option its --help lists (so that they stay in sync), and the .so stubs of
section 3 lead to libcr(3)."""
import argparse
import os
import re
import subprocess
import sys

TOOLS = ("cr_checkpoint", "cr_restart", "cr_run", "cr_info")
failures = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        failures.append(msg)


def render(path):
    """The page as text, and groff's warnings (stderr of man -l with -ww)."""
    env = dict(os.environ, LC_ALL="C", MANWIDTH="100", MAN_KEEP_FORMATTING="", MANROFFOPT="-ww")
    top = os.path.dirname(os.path.dirname(path))  # .so requests name man3/PAGE from there
    p = subprocess.run(["man", "-l", "--warnings=all", path], capture_output=True, text=True, env=env, cwd=top)
    g = subprocess.run(["groff", "-man", "-ww", "-z", path], capture_output=True, text=True, cwd=top)
    return p.returncode, re.sub(r".\x08", "", p.stdout), p.stderr + g.stderr


def help_options(tool_path):
    out = subprocess.run([tool_path, "--help"], capture_output=True, text=True).stdout
    opts = set()
    for line in out.splitlines():
        if not line.startswith(" "):
            continue
        for m in re.finditer(r"(?<![\w\-=\[])(--[a-z][a-z0-9-]*|-[a-zA-Z?])(?![\w])", line):
            opts.add(m.group(1))
    return out, opts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--man", required=True)
    ap.add_argument("--tools", required=True)
    o = ap.parse_args()
    o.man, o.tools = os.path.abspath(o.man), os.path.abspath(o.tools)
    pages = []
    for section in ("man1", "man3"):
        d = os.path.join(o.man, section)
        pages += [os.path.join(d, n) for n in sorted(os.listdir(d))]
    for tool in TOOLS:
        check(os.path.join(o.man, "man1", tool + ".1") in pages, f"{tool}.1 exists")
    check(os.path.join(o.man, "man3", "libcr.3") in pages, "libcr.3 exists")
    for page in pages:
        rc, text, warnings = render(page)
        name = os.path.basename(page)
        check(rc == 0 and text.strip(), f"{name}: man -l renders it (rc {rc})")
        check(not warnings.strip(), f"{name}: no warnings ({warnings.strip()!r})")
        if name.endswith(".3") and name != "libcr.3":
            check("cr_register_callback" in text and "SYNOPSIS" in text, f"{name}: leads to libcr(3)")
        check("@PROJECT_VERSION@" not in open(page).read(), f"{name}: the version is filled in")
    for tool in TOOLS:
        page = os.path.join(o.man, "man1", tool + ".1")
        if not os.path.exists(page):
            continue
        _, text, _ = render(page)
        words = set(re.findall(r"(?<![\w\-])(--?[a-zA-Z?][a-z0-9-]*)", text))
        out, opts = help_options(os.path.join(o.tools, tool))
        check(len(opts) >= 4, f"{tool} --help lists options ({sorted(opts)})")
        missing = sorted(opts - words)
        check(not missing, f"{tool}.1 names every option of {tool} --help (missing: {missing})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
