#include "ptrace/remote_syscalls.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#include <cstring>

namespace crest {

namespace {
constexpr long kERestartSys = 512, kERestartNoIntr = 513, kERestartNoHand = 514, kERestartBlock = 516;
constexpr uint8_t kSyscallInsn[2] = {0x0f, 0x05};
}  // namespace

Result<uint64_t> RemoteSyscalls::call(const char* name, long nr, std::initializer_list<uint64_t> args) {
  user_regs_struct r = base_;
  uint64_t a[6] = {};
  size_t i = 0;
  for (uint64_t v : args) a[i++] = v;
  r.rip = gadget_;
  r.rax = nr;
  r.orig_rax = static_cast<uint64_t>(-1);
  r.rdi = a[0];
  r.rsi = a[1];
  r.rdx = a[2];
  r.r10 = a[3];
  r.r8 = a[4];
  r.r9 = a[5];
  CR_TRY(tracee_.set_regs(r), "injecting %s", name);
  CR_TRY(tracee_.step_to_syscall_stop(), "injecting %s (entry)", name);
  CR_TRY(tracee_.step_to_syscall_stop(), "injecting %s (exit)", name);
  auto out = CR_TRY(tracee_.get_regs(), "injecting %s", name);
  long ret = static_cast<long>(out.rax);
  if (ret < 0 && ret >= -4095) return Error::remote(format("%s in process %d", name, tracee_.tid()), static_cast<int>(-ret));
  return out.rax;
}

void rewind_interrupted_syscall(user_regs_struct& r, bool restart_block_valid) {
  long orig = static_cast<long>(r.orig_rax);
  long ret = static_cast<long>(r.rax);
  if (orig < 0) return;
  switch (-ret) {
    case kERestartSys:
    case kERestartNoIntr:
    case kERestartNoHand:
      r.rax = r.orig_rax;
      r.rip -= 2;
      break;
    case kERestartBlock:
      if (restart_block_valid) {
        r.rax = SYS_restart_syscall;
      } else {
        r.rax = r.orig_rax;
        // The kernel wrote the remaining time to `rem` when the sleep was interrupted:
        // sleep for that instead of the whole request.
        if (orig == SYS_nanosleep && r.rsi != 0) r.rdi = r.rsi;
        if (orig == SYS_clock_nanosleep && (r.rsi & 1 /* TIMER_ABSTIME */) == 0 && r.r10 != 0) r.rdx = r.r10;
      }
      r.rip -= 2;
      break;
    default:
      break;
  }
  r.orig_rax = static_cast<uint64_t>(-1);
}

Result<std::unique_ptr<AutoRemoteSyscalls>> AutoRemoteSyscalls::create(const Tracee& tracee, uint64_t code_address) {
  auto regs = CR_TRY(tracee.get_regs());
  auto mask = CR_TRY(tracee.get_sigmask());
  std::unique_ptr<AutoRemoteSyscalls> s(new AutoRemoteSyscalls(tracee, code_address, regs, mask));
  auto fail = [&](Error e) -> Result<std::unique_ptr<AutoRemoteSyscalls>> { return e; };
  // Everything blocked while we run code in the target: nothing can be delivered and
  // no handler runs; pending signals stay pending.
  if (auto r = tracee.set_sigmask(~0ull); !r) return fail(r.error());
  if (auto r = tracee.read_memory(code_address, s->saved_code_, 2); !r) return fail(r.error());
  if (auto r = tracee.write_memory(code_address, kSyscallInsn, 2); !r) return fail(r.error());
  s->code_written_ = true;
  auto scratch = s->sys_.call("mmap", SYS_mmap, {0, kScratchSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, static_cast<uint64_t>(-1), 0});
  if (!scratch) return fail(scratch.error());
  s->scratch_ = *scratch;
  return std::move(s);
}

Result<void> AutoRemoteSyscalls::finish() {
  if (finished_) return {};
  finished_ = true;
  Result<void> first;
  auto keep = [&](Result<void> r) {
    if (!r && first) first = std::move(r);
  };
  if (scratch_) {
    auto r = sys_.call("munmap", SYS_munmap, {scratch_, kScratchSize});
    if (!r) keep(Result<void>(r.error()));
  }
  if (code_written_) keep(tracee_.write_memory(code_, saved_code_, 2));
  user_regs_struct regs = saved_regs_;
  rewind_interrupted_syscall(regs, /*restart_block_valid=*/true);
  keep(tracee_.set_regs(regs));
  keep(tracee_.set_sigmask(saved_mask_));
  return first;
}

AutoRemoteSyscalls::~AutoRemoteSyscalls() { (void)finish(); }

}  // namespace crest
