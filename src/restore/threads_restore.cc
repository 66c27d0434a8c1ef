// Threads: the leader is the stub itself; every other thread is cloned from it with an
// injected clone3(CLONE_THREAD | ..., set_tid), is caught by ptrace (PTRACE_O_TRACECLONE)
// before it runs, and then gets its own kernel state and registers.
#include <linux/sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstring>

#include "restore/restore_context.h"

namespace crest {

Result<Tracee> create_thread(StubSession& s, const ThreadRecord& rec, bool fresh_tid) {
  const Tracee& leader = s.tracee;
  uint64_t tid_slot = s.scratch + 512;
  uint64_t want = static_cast<uint64_t>(rec.tid);
  CR_TRY(leader.write_memory(tid_slot, &want, sizeof want));
  clone_args args{};
  args.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  if (!fresh_tid) {
    args.set_tid = tid_slot;
    args.set_tid_size = 1;
  }
  CR_TRY(leader.write_memory(s.scratch, &args, sizeof args));

  user_regs_struct r = s.sys.base();
  r.rip = s.area;
  r.rax = SYS_clone3;
  r.orig_rax = static_cast<uint64_t>(-1);
  r.rdi = s.scratch;
  r.rsi = sizeof args;
  CR_TRY(leader.set_regs(r));
  // Stops, in order: syscall entry, the clone event (if it succeeded), syscall exit.
  pid_t new_tid = -1;
  int syscall_stops = 0;
  while (syscall_stops < 2) {
    if (ptrace(PTRACE_SYSCALL, leader.tid(), nullptr, nullptr) != 0) return Error::os("ptrace(PTRACE_SYSCALL) for clone3");
    int status = 0;
    if (waitpid(leader.tid(), &status, __WALL) < 0) return Error::os("waitpid for clone3");
    if (!WIFSTOPPED(status)) return Error::gone(format("restored process %d died creating thread %d", leader.tid(), rec.tid));
    if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
      ++syscall_stops;
    } else if ((status >> 8) == (SIGTRAP | (PTRACE_EVENT_CLONE << 8))) {
      unsigned long msg = 0;
      ptrace(PTRACE_GETEVENTMSG, leader.tid(), nullptr, &msg);
      new_tid = static_cast<pid_t>(msg);
    } else {
      return Error::os(format("unexpected stop %#x while creating thread %d", status, rec.tid), EINVAL);
    }
  }
  auto out = CR_TRY(leader.get_regs());
  long ret = static_cast<long>(out.rax);
  if (ret == -EEXIST)
    return Error::os(format("thread id %d is in use by another process; restart with --no-restore-pid", rec.tid), EBUSY);
  if (ret < 0 && ret >= -4095) return Error::remote(format("clone3 of thread %d", rec.tid), static_cast<int>(-ret));
  if (new_tid <= 0) new_tid = static_cast<pid_t>(ret);

  int status = 0;
  if (waitpid(new_tid, &status, __WALL) < 0) return Error::os(format("waitpid for new thread %d", new_tid));
  if (!WIFSTOPPED(status)) return Error::gone(format("new thread %d died before it ran", new_tid));
  return Tracee::adopt_stopped_child(new_tid);
}

Result<void> restore_thread_kernel_state(RemoteSyscalls& sys, const Tracee& t, uint64_t scratch, const ThreadRecord& rec) {
  if (!(rec.altstack_flags & SS_DISABLE) && rec.altstack_size != 0) {
    stack_t ss{};
    ss.ss_sp = reinterpret_cast<void*>(rec.altstack_sp);
    ss.ss_size = rec.altstack_size;
    ss.ss_flags = static_cast<int>(rec.altstack_flags & (1u << 31) /* SS_AUTODISARM */);
    CR_TRY(t.write_memory(scratch, &ss, sizeof ss));
    CR_TRY(sys.call("sigaltstack", SYS_sigaltstack, {scratch, 0}));
  }
  if (rec.robust_head) CR_TRY(sys.call("set_robust_list", SYS_set_robust_list, {rec.robust_head, rec.robust_len}));
  CR_TRY(sys.call("set_tid_address", SYS_set_tid_address, {rec.clear_child_tid}));
  if (rec.rseq_ptr) CR_TRY(sys.call("rseq", SYS_rseq, {rec.rseq_ptr, rec.rseq_len, 0, rec.rseq_sig}));
  return {};
}

Result<void> restore_thread_cpu(const Tracee& t, const ThreadRecord& rec) {
  user_regs_struct regs{};
  memcpy(&regs, rec.gp_regs.data(), sizeof regs);
  rewind_interrupted_syscall(regs, /*restart_block_valid=*/false);
  CR_TRY(t.set_regs(regs));
  CR_TRY(t.set_xstate(rec.xsave), "the saved FPU/vector state does not fit this CPU");
  CR_TRY(t.set_sigmask(rec.sigmask));
  return {};
}

}  // namespace crest
