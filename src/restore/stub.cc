// The stub: a child of cr_restart with the original pid (clone3 set_tid), its file table
// laid out, that execs the original executable under ptrace and stops at the exec, before
// running a single instruction of it. Its address space is then replaced wholesale.
// Exec'ing the original program makes /proc/PID/exe right without CAP_CHECKPOINT_RESTORE.
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "restore/restore_context.h"

namespace crest {

namespace {

[[noreturn]] void child_fail(int report, const char* what, int err) {
  char msg[512];
  int n = snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  if (n > 0) (void)!write(report, msg, std::min<int>(n, sizeof msg - 1));
  _exit(127);
}

// Runs in the child: nothing here returns.
// `parent`: cr_restart's pid, when the stub is its child (not with `go`: then cr_restart
// seizes it and says go through that pipe).
[[noreturn]] void become_stub(const ProcessImage& image, const std::vector<PreparedFd>& fds, int report,
                              const std::string& exe, const std::string& cwd, int keep, int keep_at, int go, pid_t parent,
                              bool act_as) {
  if (go < 0) {
    // cr_restart may die at any instant before it has set PTRACE_O_EXITKILL: the stub
    // must never outlive it and run the program from its start with the image's pid and
    // descriptors. SIGKILL when cr_restart ends (cleared once the process is restored,
    // restore_thread_credentials), and the check for an end before this line.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(report, "prctl(PR_SET_PDEATHSIG)", errno);
    if (getppid() != parent) _exit(127);
  }
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);  // signals wait, pending, until the restore is done
  std::set<int> keep_fds{report};
  if (go >= 0) keep_fds.insert(go);
  int parked = keep >= 0 ? fcntl(keep, F_DUPFD, report + 1) : -1;  // out of the way of the dup2()s below
  if (keep >= 0 && parked < 0) child_fail(report, "parking the restore socket", errno);
  for (auto& p : fds) {
    if (dup2(p.local, p.target) < 0) child_fail(report, "dup2 of a restored fd", errno);
    keep_fds.insert(p.target);
  }
  if (parked >= 0) {
    if (dup2(parked, keep_at) < 0) child_fail(report, "dup2 of the restore socket", errno);
    keep_fds.insert(keep_at);
  }
  int next = 0;
  for (int k : keep_fds) {
    if (k > next) syscall(SYS_close_range, next, k - 1, 0);
    next = k + 1;
  }
  syscall(SYS_close_range, next, ~0u, 0);

  const ProcessRecord& p = image.process;
  umask(p.umask);
  // As root: the process's groups and filesystem ids, so that its cwd and executable are
  // reached with its rights (its full credentials come last, restore_thread_credentials).
  if (act_as) {
    if (int e = act_as_natively(image.threads[0].creds)) child_fail(report, "taking the process's filesystem ids", e);
  }
  if (chdir(cwd.c_str()) != 0) child_fail(report, ("chdir to the saved working directory " + cwd).c_str(), errno);
  personality(p.personality);
  if (go >= 0) {
    // Not our parent's child: cr_restart seizes us, then says go (closing the pipe
    // unsaid means it gave up).
    char byte;
    if (read(go, &byte, 1) != 1) child_fail(report, "waiting to be traced by cr_restart", EPIPE);
  } else {
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) child_fail(report, "ptrace(PTRACE_TRACEME)", errno);
    syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
  }
  char* const argv[] = {const_cast<char*>(exe.c_str()), nullptr};
  char* const envp[] = {nullptr};
  execve(exe.c_str(), argv, envp);
  // The executable is gone or not executable: grow the process out of cr_restart's
  // binary instead (only /proc/PID/exe differs).
  char* const self_argv[] = {const_cast<char*>("cr_restart-stub"), nullptr};
  execve("/proc/self/exe", self_argv, envp);
  child_fail(report, "execve", errno);
}

// clone3(args) in a helper child that exits at once, so that the new process is
// re-parented to the child reaper; `child` runs in the new process and does not return.
// Returns its pid, or -1 with errno.
template <class F>
pid_t clone_through_helper(clone_args args, F child) {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0) return -1;
  Fd answer(ends[0]), answer_write(ends[1]);
  pid_t helper = fork();
  if (helper < 0) return -1;
  if (helper == 0) {
    int32_t got = static_cast<int32_t>(syscall(SYS_clone3, &args, sizeof args));
    if (got == 0) child();
    if (got < 0) got = -errno;
    (void)!write(answer_write.get(), &got, sizeof got);
    _exit(0);
  }
  answer_write.reset();
  int32_t got = -EIO;
  ssize_t n;
  while ((n = read(answer.get(), &got, sizeof got)) < 0 && errno == EINTR) {
  }
  int status;
  while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != sizeof got) got = -EIO;
  if (got < 0) {
    errno = -got;
    return -1;
  }
  return got;
}

Error child_error(int report_read, pid_t pid, const char* stage) {
  char buf[600] = {};
  ssize_t n = read(report_read, buf, sizeof buf - 1);
  if (n > 0) return Error::os(format("restored process %d could not be prepared: %s", pid, buf), EINVAL);
  return Error::os(format("restored process %d died %s", pid, stage), EINVAL);
}

}  // namespace

Result<Tracee> spawn_stub(const ProcessImage& image, const RestoreOptions& options, std::vector<PreparedFd>& fds, int keep,
                          int keep_at) {
  const pid_t want = image.process.pid;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return Error::os("pipe2");
  int high = std::max(64, keep_at + 1);
  for (auto& p : fds) high = std::max(high, p.local + 1);
  int report = fcntl(pipefd[1], F_DUPFD_CLOEXEC, high);
  close(pipefd[1]);
  Fd report_read(pipefd[0]);
  if (report < 0) return Error::os("fcntl(F_DUPFD_CLOEXEC)");

  // A child of cr_restart's parent instead of cr_restart's (cr_request_restart(): the
  // restored process is the caller's child): it cannot PTRACE_TRACEME us, so we seize it
  // and release it through this pipe.
  const bool sibling = options.as_callers_child;
  // A process whose parent was init goes back to the child reaper (BLCR's restart did
  // so): made by a helper that exits at once, so that the kernel re-parents it to init
  // or the nearest child subreaper; cr_restart seizes it as it does a sibling.
  const bool to_reaper = !sibling && image.process.ppid == 1;
  const bool seized = sibling || to_reaper;
  Fd go_read, go_write;
  if (seized) {
    int go[2];
    if (pipe2(go, O_CLOEXEC) != 0) return Error::os("pipe2");
    go_read = Fd(fcntl(go[0], F_DUPFD_CLOEXEC, report + 1));
    close(go[0]);
    go_write = Fd(go[1]);
    if (!go_read.valid()) return Error::os("fcntl(F_DUPFD_CLOEXEC)");
  }

  std::string exe = relocate_path(image.process.exe, options.relocations);
  const char* deleted = " (deleted)";
  if (exe.size() > strlen(deleted) && exe.compare(exe.size() - strlen(deleted), std::string::npos, deleted) == 0)
    exe.resize(exe.size() - strlen(deleted));
  std::string cwd = relocate_path(image.process.cwd, options.relocations);

  const pid_t self = getpid();
  const bool self_is_root = geteuid() == 0;
  clone_args args{};
  uint64_t tid = static_cast<uint64_t>(want);
  // With CLONE_PARENT the exit signal is cr_restart's own (the kernel's rule): SIGCHLD
  // when cr_request_restart() forked it.
  args.flags = sibling ? CLONE_PARENT : 0;
  args.exit_signal = sibling ? 0 : SIGCHLD;
  if (options.restore_pid) {
    args.set_tid = reinterpret_cast<uint64_t>(&tid);
    args.set_tid_size = 1;
  }
  auto stub_main = [&] {
    become_stub(image, fds, report, exe, cwd, keep, keep_at, seized ? go_read.get() : -1, self, self_is_root);
  };
  pid_t pid;
  if (to_reaper) {
    pid = clone_through_helper(args, stub_main);
  } else if (options.restore_pid || sibling) {
    pid = static_cast<pid_t>(syscall(SYS_clone3, &args, sizeof args));
    if (pid == 0) stub_main();
  } else {
    pid = fork();
    if (pid == 0) stub_main();
  }
  int clone_errno = errno;
  close(report);
  go_read.reset();
  if (pid < 0) {
    if (clone_errno == EEXIST)
      return Error::os(format("pid %d is in use by another process; restart with --no-restore-pid to take a new pid", want), EBUSY);
    if (clone_errno == EPERM)
      return Error::os(format("restoring the original pid %d needs CAP_CHECKPOINT_RESTORE, which cr_restart does not have; "
                              "restart with --no-restore-pid to take a new pid", want), EPERM);
    return Error::os(options.restore_pid ? format("clone3 with pid %d", want) : std::string("fork"), clone_errno);
  }

  const long trace_options = kRestoreTraceOptions;
  static_assert(kRestoreTraceOptions ==
                (PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_EXITKILL));
  int status = 0;
  if (seized) {
    if (ptrace(PTRACE_SEIZE, pid, nullptr, trace_options) != 0) {
      int e = errno;
      ::kill(pid, SIGKILL);  // our caller (or the reaper) reaps it: it is not our child
      return Error::os(format("ptrace(PTRACE_SEIZE) on the new process %d", pid), e);
    }
  }
  // Tracer of the stub either way: waitpid() works on it, and dropping it kills it.
  Tracee stub = CR_TRY(Tracee::adopt_stopped_child(pid));
  if (seized) {
    if (write(go_write.get(), "g", 1) != 1) return Error::os("releasing the stub");
    go_write.reset();
  } else {
    if (waitpid(pid, &status, __WALL) < 0) return Error::os("waitpid on the stub");
    if (!WIFSTOPPED(status)) return child_error(report_read.get(), pid, "before exec");
    if (ptrace(PTRACE_SETOPTIONS, pid, nullptr, trace_options) != 0) return Error::os("ptrace(PTRACE_SETOPTIONS) on the stub");
    if (ptrace(PTRACE_CONT, pid, nullptr, nullptr) != 0) return Error::os("ptrace(PTRACE_CONT) on the stub");
  }
  if (waitpid(pid, &status, __WALL) < 0) return Error::os("waitpid on the stub");
  if (!WIFSTOPPED(status)) return child_error(report_read.get(), pid, "in exec");
  if ((status >> 8) != (SIGTRAP | (PTRACE_EVENT_EXEC << 8)))
    return Error::os(format("stub %d stopped with signal %d instead of at its exec", pid, WSTOPSIG(status)), EINVAL);
  // The exec event comes from inside execve: step to its syscall-exit stop, so that every
  // injected syscall starts from the same kind of stop.
  CR_TRY(stub.step_to_syscall_stop(), "finishing the stub's execve");
  CR_TRY(stub.reopen_mem());  // the exec gave it a new mm
  return stub;
}

}  // namespace crest
