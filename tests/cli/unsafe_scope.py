#!/usr/bin/env python3
"""Scopes cr_checkpoint refuses before it freezes or signals anything (exit 125,
docs/design.md "Scopes refused before anything is done"), and those it still takes.

The script re-runs itself as the init of a private pid namespace (unshare --pid --fork
--mount-proc), so "process 1" is this script, never the machine's init.  It makes
itself the leader of session 1 and process group 1, with a few `sleep` subjects in
both.  Refused, each naming the process: process 1 by --tree, --pid, --sid, --pgid,
--pid of one of its threads, and with --kill; an ancestor of cr_checkpoint (a shell
in a session of its own, as grandparent, or as parent through --sid/--pgid) with
--kill, --term, --stop, --abort, --signal 10; the same refusals when serving a libcr
request, ancestors of the requesting process included, and through libcr's own
cr_request_checkpoint() (programs/request_checkpoint.c: ECANCELED for process 1, and
for a session or group holding the requester's shell with SIGKILL or SIGTERM).  After each, nothing was
frozen or killed: every process of the scope runs, in state S, untraced, and a
subject asleep in nanosleep has exactly the context switches it had before (a
freeze would have woken it).  Still taken: a shell checkpointing itself with the
default --run (and --cont), or ending itself with `cr_checkpoint --kill --tree $$`
(BLCR's script pattern, as a libcr requester may ask for its own end), the init of a
child pid namespace, and process 1 with --allow-init (but never with --kill)."""
import errno
import os
import shlex
import signal
import sys
import threading

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clitest  # noqa: E402
from libcr_serve import ACCEPTED, FINISHED, serve  # noqa: E402

REFUSED = 125  # ECANCELED: tools/cr_checkpoint.cc --help, docs/design.md "Exit codes"


def switches(pid):
    """(voluntary, involuntary) context switches of pid."""
    return tuple(clitest.status_field(pid, f) for f in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"))


class Untouched:
    """Remembers processes of a scope; check() then says none was frozen, stopped,
    traced or killed since.  `sleepers` are asleep in nanosleep and must not have
    been woken at all (PTRACE_INTERRUPT would have woken them)."""

    def __init__(self, t, pids, sleepers=()):
        self.t = t
        self.pids = list(pids)
        self.sleepers = {pid: switches(pid) for pid in sleepers}

    def check(self, what):
        t = self.t
        for pid in self.pids + list(self.sleepers):
            st = clitest.read_stat(pid)
            t.check(st is not None and st.state in ("S", "R"),
                    f"{what}: process {pid} should run on (state S or R), is {t.state_desc(pid)}")
            t.check(clitest.tracer_pid(pid) == 0, f"{what}: process {pid} is traced by {clitest.tracer_pid(pid)}")
        for pid, before in self.sleepers.items():
            t.check(switches(pid) == before,
                    f"{what}: sleeping process {pid} was woken (context switches {before} -> {switches(pid)}): "
                    "something froze or signalled it")


def expect_refused(t, args, named, what, sleepers, extra_words=()):
    """cr_checkpoint ARGS must exit 125 naming `process NAMED`, write no image and
    leave process 1 and the sleepers (of the scope) as they were."""
    untouched = Untouched(t, [1], sleepers)
    img = t.path("refused.img")
    r = t.run([t.cr_checkpoint, "-f", img, *args])
    t.check(r.rc == REFUSED, f"{what}: expected exit {REFUSED} (refused), got {r}")
    t.check(f"process {named} " in r.err, f"{what}: the message should name process {named}: {r.err!r}")
    for word in extra_words:
        t.check(word in r.err, f"{what}: the message should say {word!r}: {r.err!r}")
    t.check(not os.path.exists(img), f"{what}: an image was written")
    untouched.check(what)


def sleeper(t, name):
    s = t.spawn(["sleep", "1000"], name=name)
    t.require(clitest.wait_for(lambda: clitest.proc_state(s.pid) == "S", 5), f"{name} did not start sleeping")
    return s


class ShellJob:
    """sh, in a session and process group of its own, with a sleeping child, running
    `cr_checkpoint ARGS $$` on itself and then waiting.  With subshell=True the
    command runs in a ( ) subshell, so the sh is cr_checkpoint's grandparent.
    `untouched` is the sh and its sleeping child as they were just before
    cr_checkpoint started (the sh waits on a FIFO for the test to look)."""

    count = 0

    def __init__(self, t, name, ck_args, subshell=False, command=None):
        ShellJob.count += 1
        name = f"{name}{ShellJob.count}"
        self.rc_path, self.err_path = t.path(f"{name}.rc"), t.path(f"{name}.ckerr")
        self.out_path = t.path(f"{name}.ckout")
        self.img = t.path(f"{name}.img")
        sleep_pid, go = t.path(f"{name}.sleep"), t.path(f"{name}.go")
        os.mkfifo(go)
        command = command or f"{shlex.quote(t.cr_checkpoint)} -f {shlex.quote(self.img)} {shlex.join(ck_args)} $$"
        cmd = (f"{command} > {shlex.quote(self.out_path)} 2> {shlex.quote(self.err_path)}; "
               f"echo $? > {shlex.quote(self.rc_path)}")
        cmd = f"( {cmd}; true )" if subshell else f"{{ {cmd}; }}"
        script = f"sleep 1000 & echo $! > {shlex.quote(sleep_pid)}; read go < {shlex.quote(go)}; {cmd}; wait"
        self.sh = t.spawn(["setsid", "sh", "-c", script], name=name)
        self.sleep = int(t.require(clitest.wait_for(lambda: clitest.read_text(sleep_pid).strip(), 10),
                                   f"{name}: the shell started no sleep"))
        t.require(clitest.wait_for(lambda: clitest.proc_state(self.sleep) == "S", 5), f"{name}: sleep is not asleep")
        self.untouched = Untouched(t, [self.sh.pid], sleepers=[self.sleep])
        fd = clitest.wait_for(lambda: self._open_writer(go), 10)
        t.require(fd, f"{name}: the shell does not read {go} ({t.state_desc(self.sh.pid)})")
        os.write(fd, b"go\n")
        os.close(fd)
        clitest.wait_for(lambda: clitest.read_text(self.rc_path).strip() or not self.sh.running(), 30)
        rc = clitest.read_text(self.rc_path).strip()
        self.rc = int(rc) if rc else None  # None: the shell ended first
        self.err, self.out = clitest.read_text(self.err_path), clitest.read_text(self.out_path)
        t.log(f"    sh {self.sh.pid}: {command} -> exit {self.rc}, stdout {self.out!r}, stderr {self.err!r}")

    @staticmethod
    def _open_writer(fifo):
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO:  # no reader yet
                raise
            return None

    def end(self, t):
        for pid in (self.sleep, self.sh.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.sh.kill()


def body(t):
    t.require_root("ptrace of the namespace's processes and a nested pid namespace")
    t.require(os.getpid() == 1, f"not the init of a private pid namespace (pid {os.getpid()})")
    os.setsid()
    t.require(os.getsid(0) == 1 and os.getpgrp() == 1, "could not make pid 1 a session and group leader")
    a, b = sleeper(t, "a"), sleeper(t, "b")
    park = threading.Event()
    thread = threading.Thread(target=park.wait, daemon=True)
    thread.start()
    tid = thread.native_id
    sleepers = [a.pid, b.pid]

    t.section("--help documents the refusals, their exit code and --allow-init")
    h = t.run([t.cr_checkpoint, "--help"])
    t.check(h.rc == 0 and all(w in h.out.decode() for w in ("--allow-init", "exit 125", "ancestor", "kernel thread")),
            f"--help should document --allow-init and the refusals (exit 125): {h.out.decode()[-600:]!r}")

    t.section("process 1, the init of our pid namespace, in the scope: refused")
    for args in ([], ["--tree"], ["--pid"], ["--sid"], ["--pgid"], ["--stop", "--pid"], ["--kill"]):
        expect_refused(t, [*args, "1"], 1, f"cr_checkpoint {' '.join(args + ['1'])}", sleepers,
                       extra_words=("init",))
    expect_refused(t, ["--pid", str(tid)], 1, f"--pid {tid} (a thread of process 1)", sleepers)
    expect_refused(t, ["--allow-init", "--kill", "--pid", "1"], 1, "--allow-init --kill --pid 1", sleepers)

    t.section("the same request served for libcr: refused with ECANCELED on the handle")
    init_scope = Untouched(t, [1], sleepers)
    r, msgs = serve(t, "served --pid 1", ["--pid", "-F", "1"], 1)
    t.check(r.rc == REFUSED, f"served --pid 1: exit {r.rc}, expected {REFUSED}")
    t.check(msgs[:1] == [(ACCEPTED, errno.ECANCELED, "")], f"served --pid 1: kAccepted should carry ECANCELED: {msgs}")
    t.check(len(msgs) > 1 and msgs[1][0] == FINISHED and "process 1 " in msgs[1][2],
            f"served --pid 1: the log should name process 1: {msgs}")
    init_scope.check("served --pid 1")

    t.section("an ancestor of cr_checkpoint with an after-action that kills or stops it: refused")
    # The grandparent (the command runs in a subshell), or the parent through its session or group.
    for args, subshell in ((["--kill"], True), (["--term"], True), (["--stop"], True), (["--abort"], True),
                           (["--signal", "10"], True), (["--kill", "--pid"], True), (["--kill", "--sid"], False),
                           (["--stop", "--pgid"], False), (["--term", "--sid"], True)):
        what = f"sh running cr_checkpoint {' '.join(args)} $$" + (" in a subshell" if subshell else "")
        job = ShellJob(t, "anc", args, subshell=subshell)
        try:
            t.check(job.rc == REFUSED, f"{what}: expected exit {REFUSED}, got {job.rc} ({job.err!r})")
            t.check(f"process {job.sh.pid} " in job.err and "ancestor" in job.err,
                    f"{what}: the message should name the shell {job.sh.pid} as an ancestor: {job.err!r}")
            t.check(not os.path.exists(job.img), f"{what}: an image was written")
            # The sh itself was woken by its child's exit; its sleeping child must not have been.
            job.untouched.check(what)
            t.check(job.sh.running(), f"{what}: the shell was killed")
        finally:
            job.end(t)

    t.section("the parent naming itself may ask for its end (a script: cr_checkpoint --kill --tree $$)")
    job = ShellJob(t, "end", ["--kill", "--tree"])
    try:
        r = job.sh.wait(10)
        t.check(r.rc == -signal.SIGKILL, f"--kill --tree $$: the shell should die of SIGKILL: {r}")
        t.check(job.rc is None, f"--kill --tree $$: the shell went on after its checkpoint (status {job.rc})")
        info = t.run([t.tool("cr_info"), job.img])
        t.check(info.rc == 0 and str(job.sh.pid) in info.out.decode(),
                f"--kill --tree $$: cr_info should verify the image and list the shell {job.sh.pid}: {info}")
    finally:
        job.end(t)

    t.section("served for a libcr requester: an ancestor of the requesting process with SIGKILL: refused")
    job = ShellJob(t, "req", ["--pid"])  # a shell whose child `sleep` plays the requester
    try:
        shell_scope = Untouched(t, [job.sh.pid], sleepers=[job.sleep])  # cr_checkpoint --pid $$ is over
        r, msgs = serve(t, "served --kill --tree", ["--kill", "--tree", "-F", "1"], job.sh.pid,
                        requester=job.sleep)
        t.check(r.rc == REFUSED and msgs[:1] == [(ACCEPTED, errno.ECANCELED, "")],
                f"served --kill --tree of the requester's parent: exit {r.rc}, messages {msgs}")
        t.check(len(msgs) > 1 and f"process {job.sh.pid} " in msgs[1][2] and
                f"requesting process {job.sleep}" in msgs[1][2],
                f"served: the log should name the shell and the requester: {msgs}")
        shell_scope.check("served --kill of the requester's parent")
        t.section("... while the requester itself may be killed after its checkpoint (BLCR's cr_signal)")
        r, msgs = serve(t, "served --kill --pid", ["--kill", "--pid", "-F", "1"], job.sleep, requester=job.sleep)
        t.check(r.rc == 0 and [m[:2] for m in msgs] == [(ACCEPTED, 0), (FINISHED, 0)],
                f"served --kill of the requester itself should succeed: exit {r.rc}, {msgs}")
        t.check(clitest.wait_for(lambda: not clitest.is_alive(job.sleep), 5),
                f"the requester {job.sleep} should have been killed: {t.state_desc(job.sleep)}")
    finally:
        job.end(t)

    t.section("cr_request_checkpoint() through libcr: refused with ECANCELED like the tool")
    request = t.helper("request_checkpoint")
    r = t.run([request, "proc", "1", "0"])
    t.check(r.out.decode().split() == ["request", "-1", str(errno.ECANCELED), "poll", "0", "0"],
            f"cr_request_checkpoint of process 1 should fail with ECANCELED: {r} {r.out!r}")
    for words, expected in ((["sess", "0", "9"], f"request -1 {errno.ECANCELED} poll 0 0"),
                            (["pgrp", "0", "15"], f"request -1 {errno.ECANCELED} poll 0 0")):
        what = f"a shell's child requesting {' '.join(words)} (its session or group holds the shell)"
        job = ShellJob(t, "lib", [], command=shlex.join([request, *words]))
        try:
            t.check(job.out.strip() == expected, f"{what}: expected {expected!r}, got {job.out!r} (exit {job.rc})")
            job.untouched.check(what)
        finally:
            job.end(t)
    job = ShellJob(t, "lib", [], command=shlex.join([request, "proc", "0", "9"]))
    try:
        t.check(job.rc == 128 + signal.SIGKILL and job.out == "",
                f"a process requesting its own checkpoint with cr_signal SIGKILL should be killed: exit {job.rc}, "
                f"output {job.out!r}")
        Untouched(t, [job.sh.pid], sleepers=[job.sleep]).check("the requester's shell after its SIGKILL")
    finally:
        job.end(t)

    t.section("a shell checkpointing itself with the default --run (BLCR's self-checkpoint), and --cont")
    for args in ([], ["--tree"], ["--cont"], ["--run", "--sid"]):
        job = ShellJob(t, "self", args)
        try:
            what = f"sh running cr_checkpoint {' '.join(args)} $$"
            t.check(job.rc == 0, f"{what}: expected success, got exit {job.rc} ({job.err!r})")
            t.check(os.path.isfile(job.img) and os.path.getsize(job.img) > clitest.HEADER_SIZE,
                    f"{what}: no image")
            info = t.run([t.tool("cr_info"), job.img])
            t.check(info.rc == 0 and str(job.sh.pid) in info.out.decode(),
                    f"{what}: cr_info should verify the image and list the shell {job.sh.pid}: {info}")
            Untouched(t, [job.sh.pid, job.sleep]).check(what)
        finally:
            job.end(t)

    t.section("the init of a child pid namespace (a container's) is checkpointed")
    u = t.spawn(["unshare", "--pid", "--fork", "sleep", "1000"], name="container")
    child = clitest.wait_for(lambda: [st for st in clitest.children_of(u.pid) if st.comm == "sleep"], 5)
    t.require(child, f"unshare {u.pid} started no child ({t.state_desc(u.pid)})")
    inner = child[0].pid
    nspid = clitest.status_field(inner, "NSpid")
    t.require(nspid and nspid.split()[-1] == "1", f"process {inner} is not a namespace's init: NSpid {nspid}")
    for args in (["--pid"], ["--tree"]):
        img = t.path("container.img")
        r = t.run([t.cr_checkpoint, *args, "-f", img, inner])
        t.check(r.rc == 0 and os.path.isfile(img), f"checkpoint {' '.join(args)} of the child namespace's init: {r}")
        Untouched(t, [inner]).check(f"child namespace's init after {' '.join(args)}")
        if os.path.exists(img):
            os.unlink(img)
    r = t.run([t.cr_checkpoint, "--kill", "-f", t.path("container.img"), u.pid])
    t.check(r.rc == 0, f"--kill of unshare and the child namespace's init: {r}")
    t.check(clitest.wait_for(lambda: not clitest.is_alive(inner), 5),
            f"--kill: the child namespace's init should be gone: {t.state_desc(inner)}")

    t.section("--allow-init: process 1 is checkpointed and runs on")
    for args in (["--pid"], ["--tree"]):
        img = t.path("init.img")
        r = t.run([t.cr_checkpoint, "--allow-init", *args, "-f", img, "1"])
        t.check(r.rc == 0 and os.path.isfile(img), f"--allow-init {' '.join(args)} 1 should succeed: {r}")
        info = t.run([t.tool("cr_info"), img])
        t.check(info.rc == 0, f"--allow-init {' '.join(args)} 1: cr_info rejects the image: {info}")
        Untouched(t, [1, a.pid, b.pid]).check(f"--allow-init {' '.join(args)} 1")
        if os.path.exists(img):
            os.unlink(img)
    park.set()


if __name__ == "__main__":
    clitest.enter_private_pid_namespace()
    clitest.main(body)
