#!/usr/bin/env python3
"""--save-exe / --save-private / --save-shared / --save-all / --save-none: the contents
of file mappings go into the image, so a restart works after the files are deleted.
A copy of the subject (mapped_files) runs from a scratch directory with a private
mapping of one file and a shared mapping of another; it is checkpointed with --kill
mid-run, the files are deleted, and the restart must print what an uninterrupted run
prints and exit with its status.  Without the option the restart fails, naming the
missing file, and leaves nothing running."""
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402

TICKS = 25


def body(t):
    t.require_root("the restored copy gets the original pid back")

    def setup(label, user=False):
        return clitest.mapped_files_setup(t, label, user)

    t.section("reference: an uninterrupted run")
    files = setup("ref")
    ref = t.spawn([files["exe"], files["private"], files["shared"], TICKS], name="ref")
    r = ref.wait(20)
    t.require(r.rc is not None, "the reference run did not finish")
    ref_rc, ref_text = r.rc, ref.text()
    t.require(ref_rc == 40 + TICKS % 50 and ref_text.count("tick ") == TICKS,
              f"reference run: exit {ref_rc}, output {ref_text[-200:]!r}")

    def case(label, save_args, delete, expect_ok, user=False):
        t.section(f"{label}: {' '.join(save_args) or 'no --save option'}, then delete {', '.join(delete)}")
        files = setup(label, user)
        s = t.spawn([files["exe"], files["private"], files["shared"], TICKS], name=label, user=user)
        t.wait_output(s, lambda: "tick 5" in s.text(), "tick 5")
        img = t.path(label, "img") if user else t.path(f"img.{label}")
        r = t.run([t.cr_checkpoint, "--kill", *save_args, "-f", img, s.pid], user=user)
        t.require(r.rc == 0, f"{label}: checkpoint failed: {r}")
        s.wait(5)
        for name in delete:
            os.unlink(files[name])
        before = set(t.live_descendants())
        restart = [t.cr_restart, img] if not user else [t.cr_restart, "--no-restore-pid", img]
        r = t.run(restart, timeout=20, user=user)
        if expect_ok:
            t.check(r.rc == ref_rc, f"{label}: restart should exit {ref_rc} like an uninterrupted run: {r}")
            t.check(s.text() == ref_text,
                    f"{label}: output differs from an uninterrupted run:\n{s.text()[-300:]!r}\nvs\n{ref_text[-300:]!r}")
        else:
            missing = files[delete[0]]
            t.check(r.rc not in (None, 0), f"{label}: restart should fail without the saved contents: {r}")
            t.check(missing in r.err, f"{label}: the error should name the missing file {missing}: {r}")
            t.check_no_new_processes(before, label)
        return r

    case("all", ["--save-all"], ["exe", "private", "shared"], True)
    case("exe", ["--save-exe"], ["exe"], True)
    case("private", ["--save-private"], ["exe", "private"], True)
    case("shared", ["--save-shared"], ["shared"], True)
    case("additive", ["--save-exe", "--save-shared"], ["exe", "shared"], True)
    case("none", [], ["exe"], False)
    case("exe-not-private", ["--save-exe"], ["private"], False)
    case("private-not-shared", ["--save-private"], ["shared"], False)
    case("cleared", ["--save-all", "--save-none"], ["private"], False)
    case("user", ["--save-all"], ["exe", "private", "shared"], True, user=True)


if __name__ == "__main__":
    clitest.main(body)
