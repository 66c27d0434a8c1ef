#include "ptrace/tracee.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <cstring>

namespace crest {

static Error ptrace_error(const char* op, pid_t tid) {
  int e = errno;
  if (e == ESRCH) return Error::gone(format("%s on %d: the process is gone", op, tid));
  return Error::os(format("%s on %d", op, tid), e);
}

Result<Tracee> Tracee::seize(pid_t pid) {
  // With CAP_SYS_ADMIN the thread's seccomp filters (or strict mode) do not apply to the
  // syscalls we inject while we trace it (cleared when we detach). Without it (EPERM)
  // they do, and a filter that forbids one of them fails the checkpoint at that call.
  bool suspended = geteuid() == 0 && ptrace(PTRACE_SEIZE, pid, nullptr, PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP) == 0;
  if (!suspended && ptrace(PTRACE_SEIZE, pid, nullptr, PTRACE_O_TRACESYSGOOD) != 0) {
    int e = errno;
    if (e == ESRCH) return Error(ErrorKind::Os, ESRCH, format("no such process %d", pid));
    if (e == EPERM) return Error::os(format("not permitted to trace process %d (ptrace PTRACE_SEIZE)", pid), EPERM);
    return Error::os(format("ptrace(PTRACE_SEIZE) on %d", pid), e);
  }
  Tracee t(pid, false);
  if (ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) != 0) return ptrace_error("ptrace(PTRACE_INTERRUPT)", pid);
  // Wait for the PTRACE_EVENT_STOP; a signal-delivery stop may come first: record
  // nothing, just pass it on (the signal is re-queued to the process).
  for (;;) {
    int status = CR_TRY(t.wait_stop());
    if (status >> 16 == PTRACE_EVENT_STOP) {
      t.seized_stop_signal_ = WSTOPSIG(status);
      break;
    }
    int sig = WSTOPSIG(status);
    if (ptrace(PTRACE_CONT, pid, nullptr, sig) != 0) return ptrace_error("ptrace(PTRACE_CONT)", pid);
  }
  CR_TRY(t.open_mem());
  return t;
}

Result<Tracee> Tracee::adopt_stopped_child(pid_t pid) {
  Tracee t(pid, true);
  t.on_drop_ = OnDrop::Kill;
  CR_TRY(t.open_mem());
  return t;
}

Tracee::Tracee(Tracee&& other) noexcept
    : tid_(other.tid_), is_child_(other.is_child_), seized_stop_signal_(other.seized_stop_signal_),
      attached_(other.attached_), on_drop_(other.on_drop_), mem_(std::move(other.mem_)) {
  other.attached_ = false;
}

Tracee& Tracee::operator=(Tracee&& other) noexcept {
  if (this != &other) {
    drop();
    tid_ = other.tid_;
    is_child_ = other.is_child_;
    seized_stop_signal_ = other.seized_stop_signal_;
    attached_ = other.attached_;
    on_drop_ = other.on_drop_;
    mem_ = std::move(other.mem_);
    other.attached_ = false;
  }
  return *this;
}

Tracee::~Tracee() { drop(); }

void Tracee::drop() {
  if (!attached_) return;
  if (on_drop_ == OnDrop::Kill) {
    kill_now();
  } else {
    ptrace(PTRACE_DETACH, tid_, nullptr, nullptr);
  }
}

void Tracee::kill_now() {
  if (!attached_) return;
  ::kill(tid_, SIGKILL);
  if (is_child_) {
    int status;
    while (waitpid(tid_, &status, __WALL) < 0 && errno == EINTR) {
    }
  }
  attached_ = false;
}

Result<void> Tracee::open_mem() {
  mem_ = Fd(::open(format("/proc/%d/mem", tid_).c_str(), O_RDWR | O_CLOEXEC));
  if (!mem_.valid()) return Error::os(format("open /proc/%d/mem", tid_));
  return {};
}

Result<int> Tracee::wait_stop() const {
  int status = 0;
  for (;;) {
    pid_t r = waitpid(tid_, &status, __WALL);
    if (r < 0 && errno == EINTR) return Error::os(format("waiting for %d (interrupted)", tid_), EINTR);
    if (r < 0) return ptrace_error("waitpid", tid_);
    break;
  }
  if (WIFEXITED(status)) return Error::gone(format("process %d exited with status %d while stopped for checkpoint", tid_, WEXITSTATUS(status)));
  if (WIFSIGNALED(status)) return Error::gone(format("process %d was killed by signal %d (%s)", tid_, WTERMSIG(status), strsignal(WTERMSIG(status))));
  return status;
}

Result<user_regs_struct> Tracee::get_regs() const {
  user_regs_struct r{};
  if (ptrace(PTRACE_GETREGS, tid_, nullptr, &r) != 0) return ptrace_error("ptrace(PTRACE_GETREGS)", tid_);
  return r;
}

Result<void> Tracee::set_regs(const user_regs_struct& regs) const {
  if (ptrace(PTRACE_SETREGS, tid_, nullptr, &regs) != 0) return ptrace_error("ptrace(PTRACE_SETREGS)", tid_);
  return {};
}

Result<std::vector<uint8_t>> Tracee::get_xstate() const {
  std::vector<uint8_t> buf(64 * 1024);
  iovec iov{buf.data(), buf.size()};
  if (ptrace(PTRACE_GETREGSET, tid_, NT_X86_XSTATE, &iov) != 0) return ptrace_error("ptrace(PTRACE_GETREGSET, NT_X86_XSTATE)", tid_);
  buf.resize(iov.iov_len);
  return buf;
}

Result<void> Tracee::set_xstate(const std::vector<uint8_t>& xstate) const {
  std::vector<uint8_t> copy = xstate;
  iovec iov{copy.data(), copy.size()};
  if (ptrace(PTRACE_SETREGSET, tid_, NT_X86_XSTATE, &iov) != 0) return ptrace_error("ptrace(PTRACE_SETREGSET, NT_X86_XSTATE)", tid_);
  return {};
}

Result<uint64_t> Tracee::get_sigmask() const {
  uint64_t mask = 0;
  if (ptrace(PTRACE_GETSIGMASK, tid_, sizeof mask, &mask) != 0) return ptrace_error("ptrace(PTRACE_GETSIGMASK)", tid_);
  return mask;
}

Result<void> Tracee::set_sigmask(uint64_t mask) const {
  if (ptrace(PTRACE_SETSIGMASK, tid_, sizeof mask, &mask) != 0) return ptrace_error("ptrace(PTRACE_SETSIGMASK)", tid_);
  return {};
}

Result<void> Tracee::read_memory(uint64_t addr, void* out, size_t size) const {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    ssize_t n = pread(mem_.get(), p, size, static_cast<off_t>(addr));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      int e = n < 0 ? errno : EIO;
      if (::kill(tid_, 0) != 0 && errno == ESRCH) return Error::gone(format("process %d is gone", tid_));
      return Error::os(format("reading memory of %d at 0x%llx", tid_, static_cast<unsigned long long>(addr)), e);
    }
    p += n;
    addr += n;
    size -= n;
  }
  return {};
}

Result<void> Tracee::write_memory(uint64_t addr, const void* data, size_t size) const {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = pwrite(mem_.get(), p, size, static_cast<off_t>(addr));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return Error::os(format("writing memory of %d at 0x%llx", tid_, static_cast<unsigned long long>(addr)), n < 0 ? errno : EIO);
    }
    p += n;
    addr += n;
    size -= n;
  }
  return {};
}

Result<void> Tracee::step_to_syscall_stop() const {
  for (;;) {
    if (ptrace(PTRACE_SYSCALL, tid_, nullptr, nullptr) != 0) return ptrace_error("ptrace(PTRACE_SYSCALL)", tid_);
    int status = CR_TRY(wait_stop());
    if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80)) return {};
    // A group-stop or interrupt trap still queued (a job-control-stopped target reports
    // one when seized) comes before any instruction runs: step on.
    if ((status >> 16) == PTRACE_EVENT_STOP) continue;
    return Error::os(format("process %d: expected a syscall stop, got stop signal %d (event %d)", tid_, WSTOPSIG(status), status >> 16), EINVAL);
  }
}

Result<void> Tracee::detach(int signal) {
  if (ptrace(PTRACE_DETACH, tid_, nullptr, signal) != 0) return ptrace_error("ptrace(PTRACE_DETACH)", tid_);
  attached_ = false;
  return {};
}

}  // namespace crest
