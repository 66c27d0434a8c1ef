// Syscalls run inside a stopped tracee: point it at a `syscall` instruction, set the
// argument registers, step through the syscall stops, read the result.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <initializer_list>
#include <string>

#include "base/result.h"
#include "ptrace/tracee.h"

namespace crest {

class RemoteSyscalls {
 public:
  RemoteSyscalls(const Tracee& tracee, uint64_t gadget, const user_regs_struct& base)
      : tracee_(tracee), gadget_(gadget), base_(base) {}

  // Runs syscall `nr`; a result in [-4095, -1] becomes a RemoteOs error naming `name`.
  Result<uint64_t> call(const char* name, long nr, std::initializer_list<uint64_t> args = {});
  void set_gadget(uint64_t gadget) { gadget_ = gadget; }
  void set_base(const user_regs_struct& base) { base_ = base; }
  const Tracee& tracee() const { return tracee_; }
  const user_regs_struct& base() const { return base_; }
  uint64_t gadget() const { return gadget_; }

 private:
  const Tracee& tracee_;
  uint64_t gadget_;
  user_regs_struct base_;
};

// `base` with rip at `gadget` (a `syscall` instruction), syscall `nr` in rax and up to six
// arguments in rdi, rsi, rdx, r10, r8, r9.
user_regs_struct syscall_regs(const user_regs_struct& base, uint64_t gadget, long nr, std::initializer_list<uint64_t> args);

// Makes registers taken while the thread was inside an interrupted syscall resume it:
// -ERESTARTSYS/-ERESTARTNOINTR/-ERESTARTNOHAND re-execute the syscall;
// -ERESTART_RESTARTBLOCK uses restart_syscall when the kernel's restart block is still
// valid (same live process), otherwise re-executes the original call (for relative
// nanosleep/clock_nanosleep with a remaining-time buffer, with the remaining time).
void rewind_interrupted_syscall(user_regs_struct& regs, bool restart_block_valid);

}  // namespace crest
