#include "ptrace/remote_syscalls.h"

#include <sys/syscall.h>

#include <cstring>

namespace crest {

namespace {
constexpr long kERestartSys = 512, kERestartNoIntr = 513, kERestartNoHand = 514, kERestartBlock = 516;
}  // namespace

user_regs_struct syscall_regs(const user_regs_struct& base, uint64_t gadget, long nr, std::initializer_list<uint64_t> args) {
  user_regs_struct r = base;
  uint64_t a[6] = {};
  size_t i = 0;
  for (uint64_t v : args) a[i++] = v;
  r.rip = gadget;
  r.rax = static_cast<uint64_t>(nr);
  r.orig_rax = static_cast<uint64_t>(-1);
  r.rdi = a[0];
  r.rsi = a[1];
  r.rdx = a[2];
  r.r10 = a[3];
  r.r8 = a[4];
  r.r9 = a[5];
  return r;
}

Result<uint64_t> RemoteSyscalls::call(const char* name, long nr, std::initializer_list<uint64_t> args) {
  const user_regs_struct r = syscall_regs(base_, gadget_, nr, args);
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

}  // namespace crest
