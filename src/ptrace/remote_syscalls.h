// Syscalls run inside a stopped tracee: point it at a `syscall` instruction, set the
// argument registers, step through the syscall stops, read the result.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
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

// Makes registers taken while the thread was inside an interrupted syscall resume it:
// -ERESTARTSYS/-ERESTARTNOINTR/-ERESTARTNOHAND re-execute the syscall;
// -ERESTART_RESTARTBLOCK uses restart_syscall when the kernel's restart block is still
// valid (same live process), otherwise re-executes the original call (for relative
// nanosleep/clock_nanosleep with a remaining-time buffer, with the remaining time).
void rewind_interrupted_syscall(user_regs_struct& regs, bool restart_block_valid);

// Dump-time session on a seized thread: borrows the first executable area for a
// `syscall` instruction and maps one scratch page; the destructor (or finish()) puts
// back the code bytes, unmaps the scratch page and restores registers and signal mask.
class AutoRemoteSyscalls {
 public:
  static Result<std::unique_ptr<AutoRemoteSyscalls>> create(const Tracee& tracee, uint64_t code_address);
  ~AutoRemoteSyscalls();

  RemoteSyscalls& sys() { return sys_; }
  uint64_t scratch() const { return scratch_; }
  static constexpr size_t kScratchSize = 4096;
  Result<void> finish();

 private:
  AutoRemoteSyscalls(const Tracee& t, uint64_t code, const user_regs_struct& regs, uint64_t mask)
      : tracee_(t), code_(code), saved_regs_(regs), saved_mask_(mask), sys_(t, code, regs) {}
  const Tracee& tracee_;
  uint64_t code_;
  user_regs_struct saved_regs_;
  uint64_t saved_mask_;
  uint8_t saved_code_[2] = {};
  bool code_written_ = false;
  uint64_t scratch_ = 0;
  bool finished_ = false;
  RemoteSyscalls sys_;
};

}  // namespace crest
