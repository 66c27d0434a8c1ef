// Tracee: one ptrace-stopped thread. Reads and writes registers and memory; detaches or
// kills in its destructor according to its policy.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace crest {

// The ptrace options cr_restart holds every restored thread with (threads and children
// inherit them); the seccomp unit adds PTRACE_O_SUSPEND_SECCOMP to them.
inline constexpr long kRestoreTraceOptions = 0x1 /* TRACESYSGOOD */ | 0x8 /* TRACECLONE */ | 0x10 /* TRACEEXEC */ |
                                             0x2 /* TRACEFORK */ | 0x100000 /* EXITKILL */;

class Tracee {
 public:
  enum class OnDrop { Detach, Kill };

  // PTRACE_SEIZE + PTRACE_INTERRUPT, and wait for the stop. If we die, the kernel
  // detaches and the target runs on.
  static Result<Tracee> seize(pid_t pid);
  // Our child, already traced and stopped; killed and reaped if dropped.
  static Result<Tracee> adopt_stopped_child(pid_t pid);

  Tracee(Tracee&& other) noexcept;
  Tracee& operator=(Tracee&& other) noexcept;
  ~Tracee();

  pid_t tid() const { return tid_; }
  void set_on_drop(OnDrop d) { on_drop_ = d; }

  Result<user_regs_struct> get_regs() const;
  Result<void> set_regs(const user_regs_struct& regs) const;
  Result<std::vector<uint8_t>> get_xstate() const;
  Result<void> set_xstate(const std::vector<uint8_t>& xstate) const;
  Result<uint64_t> get_sigmask() const;
  Result<void> set_sigmask(uint64_t mask) const;

  Result<void> read_memory(uint64_t addr, void* out, size_t size) const;
  Result<void> write_memory(uint64_t addr, const void* data, size_t size) const;
  int mem_fd() const { return mem_.get(); }
  Result<void> reopen_mem() { return open_mem(); }

  // Resume with PTRACE_SYSCALL and wait for the next syscall stop. A signal stop on the way
  // is an error (callers block signals first).
  Result<void> step_to_syscall_stop() const;
  // Leaves the tracee running. After this the object does nothing on destruction.
  Result<void> detach(int signal = 0);
  // The signal of the stop seize() found: the job-control stop signal (SIGSTOP, SIGTSTP,
  // SIGTTIN, SIGTTOU) of a process in group stop, SIGTRAP for a running one.
  int seized_stop_signal() const { return seized_stop_signal_; }
  // SIGKILL and reap (for stubs we own) or just SIGKILL.
  void kill_now();

 private:
  Tracee(pid_t tid, bool is_child) : tid_(tid), is_child_(is_child) {}
  Result<void> open_mem();
  void drop();
  Result<int> wait_stop() const;

  pid_t tid_ = -1;
  bool is_child_ = false;
  int seized_stop_signal_ = 0;
  bool attached_ = true;
  OnDrop on_drop_ = OnDrop::Detach;
  Fd mem_;
};

}  // namespace crest
