// InjectionArea: what a checkpoint asks a frozen process with injected syscalls, run so
// that the process is never left damaged, whenever the checkpoint dies (docs/design.md,
// "Interrupted checkpoints").
//
// One area per process, mapped by its leader: a code page holding crest's batch loop
// (copied from this binary), a table of calls with their results, output buffers and a
// small stack. Each thread then runs its calls as one batch: its registers point into
// the area; the batch blocks every signal (its first call), runs the table, puts the
// thread's own signal mask back, and then, unless the tracer has taken over by then (it
// does, at that call's exit stop), reloads every saved register itself and jumps back to
// where the thread was. So a tracer that dies at any instant of a batch leaves a thread
// that finishes the batch and resumes exactly where it stopped (and in a syscall that
// was interrupted, re-enters it).
//
// Only the area's own mmap and munmap are not covered (two syscall stops each, once per
// process): they run from a `syscall` instruction the process already has, with its
// registers pointing there; a tracer killed in those two windows leaves the leader
// running on with wrong registers. Nothing of the process's code is ever written, unless
// it has no `syscall` instruction at all (then one is borrowed for those two calls).
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.h"
#include "ptrace/tracee.h"

namespace crest {

// One injected call: the syscall number and up to six arguments.
struct BatchCall {
  long number;
  uint64_t args[6];
};

class InjectionArea {
 public:
  // Bytes of output buffers a batch's calls may point into (output(0) .. output(kOutputSize)).
  static constexpr size_t kOutputSize = 3072;
  static constexpr size_t kMaxCalls = 120;

  // Maps the area through the leader (a thread of the process in a ptrace-stop). `gadget`
  // is the address of a `syscall` instruction (0f 05) in the process; with
  // `borrow_gadget`, the two bytes there are written for the mmap and put back at once.
  // The leader's registers and mask are put back before this returns, failed or not.
  static Result<std::unique_ptr<InjectionArea>> create(const Tracee& leader, uint64_t gadget, bool borrow_gadget);
  // Unmaps the area through the leader (best effort: a leader that is gone has none).
  ~InjectionArea();
  InjectionArea(const InjectionArea&) = delete;
  InjectionArea& operator=(const InjectionArea&) = delete;

  // Runs `calls` in thread `t` (a ptrace-stopped thread of the process) and returns each
  // call's raw result (-errno for a failure). The thread's registers and signal mask are
  // as before on return, failed or not; registers of a thread stopped inside an
  // interrupted syscall come back as "re-enter it" registers. Returns TraceeGone if the
  // thread was killed meanwhile.
  Result<std::vector<int64_t>> run(const Tracee& t, const std::vector<BatchCall>& calls);

  // Address of output byte `offset`, for a call's buffer argument; read it with
  // Tracee::read_memory after run().
  uint64_t output(size_t offset) const { return address_ + kOutputOffset + offset; }

  // The area's layout (docs/design.md): code page (frame at kFrameOffset), call table,
  // outputs, stack.
  static constexpr uint64_t kPage = 4096;
  static constexpr uint64_t kFrameOffset = 2048;
  static constexpr uint64_t kTableOffset = kPage;
  static constexpr uint64_t kOutputOffset = 3 * kPage;
  static constexpr uint64_t kSize = 5 * kPage;

 private:
  InjectionArea(const Tracee& leader, uint64_t gadget, bool borrow) : leader_(leader), gadget_(gadget), borrow_(borrow) {}
  // One syscall from the gadget in the leader, with its registers and mask put back.
  Result<uint64_t> leader_call(const char* name, long number, std::initializer_list<uint64_t> args);

  const Tracee& leader_;
  uint64_t gadget_;
  bool borrow_;
  uint64_t address_ = 0;
};

// One syscall at a time in a thread, each run as a batch of one through `area`: for code
// that picks its next call by the last one's answer (the process attributes, src/attrs).
// Each call is as safe against a dying tracer as any batch.
class AreaSyscalls {
 public:
  AreaSyscalls(InjectionArea& area, const Tracee& t) : area_(area), tracee_(t) {}
  // Runs syscall `nr`; a result in [-4095, -1] becomes a RemoteOs error naming `name`.
  Result<uint64_t> call(const char* name, long nr, std::initializer_list<uint64_t> args = {});
  const Tracee& tracee() const { return tracee_; }

 private:
  InjectionArea& area_;
  const Tracee& tracee_;
};

// The registers a thread resumes with after injected syscalls: the ones it stopped with,
// except that a syscall it was interrupted in is made to start again (the kernel's own
// restart logic does not run after an injected syscall).
Result<user_regs_struct> resumable_regs(const Tracee& t);

}  // namespace crest
