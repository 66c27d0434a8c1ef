// Threads: the leader is the stub itself; every other thread is cloned from it with an
// injected clone3(CLONE_THREAD | ..., set_tid), is caught by ptrace (PTRACE_O_TRACECLONE)
// before it runs, and then gets its own kernel state and registers.
#include <linux/sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "restore/restore_context.h"

namespace crest {

Result<Tracee> inject_clone3(StubSession& s, uint64_t flags, pid_t want, bool fresh, const char* what) {
  const Tracee& parent = s.tracee;
  uint64_t tid_slot = s.scratch + 512;
  uint64_t want64 = static_cast<uint64_t>(want);
  CR_TRY(parent.write_memory(tid_slot, &want64, sizeof want64));
  clone_args args{};
  args.flags = flags;
  if (!(flags & CLONE_THREAD)) args.exit_signal = SIGCHLD;
  if (!fresh) {
    args.set_tid = tid_slot;
    args.set_tid_size = 1;
  }
  CR_TRY(parent.write_memory(s.scratch, &args, sizeof args));

  user_regs_struct r = s.sys.base();
  r.rip = s.area;
  r.rax = SYS_clone3;
  r.orig_rax = static_cast<uint64_t>(-1);
  r.rdi = s.scratch;
  r.rsi = sizeof args;
  CR_TRY(parent.set_regs(r));
  // Stops, in order: syscall entry, the clone/fork event (if it succeeded), syscall exit.
  pid_t child = -1;
  int syscall_stops = 0;
  while (syscall_stops < 2) {
    if (ptrace(PTRACE_SYSCALL, parent.tid(), nullptr, nullptr) != 0) return Error::os("ptrace(PTRACE_SYSCALL) for clone3");
    int status = 0;
    if (waitpid(parent.tid(), &status, __WALL) < 0) return Error::os("waitpid for clone3");
    if (!WIFSTOPPED(status)) return Error::gone(format("restored process %d died creating %s %d", parent.tid(), what, want));
    int event = status >> 16;
    if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
      ++syscall_stops;
    } else if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK) {
      unsigned long msg = 0;
      ptrace(PTRACE_GETEVENTMSG, parent.tid(), nullptr, &msg);
      child = static_cast<pid_t>(msg);
    } else {
      return Error::os(format("unexpected stop %#x while creating %s %d", status, what, want), EINVAL);
    }
  }
  auto out = CR_TRY(parent.get_regs());
  long ret = static_cast<long>(out.rax);
  if (ret == -EEXIST)
    return Error::os(format("%s id %d is in use by another process; restart with --no-restore-pid", what, want), EBUSY);
  if (ret < 0 && ret >= -4095) return Error::remote(format("clone3 of %s %d", what, want), static_cast<int>(-ret));
  if (child <= 0) child = static_cast<pid_t>(ret);

  int status = 0;
  if (waitpid(child, &status, __WALL) < 0) return Error::os(format("waitpid for new %s %d", what, child));
  if (!WIFSTOPPED(status)) return Error::gone(format("new %s %d died before it ran", what, child));
  return Tracee::adopt_stopped_child(child);
}

// A thread of a process killed just before (cr_checkpoint --kill) can hold its tid for a
// moment after the process is reaped: the exiting thread frees its number only after it
// has let the parent reap the leader (release_task: do_notify_parent, then free_pids),
// and a low-priority thread (SCHED_IDLE, nice 19) may wait long for a CPU in between.
// A tid that no task shows (kill: ESRCH) is such a one: try again, for up to 2 s.
Result<Tracee> create_thread(StubSession& s, const ThreadRecord& rec, bool fresh_tid) {
  for (int tries = 0;; ++tries) {
    auto t = inject_clone3(s, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM, rec.tid,
                           fresh_tid, "thread");
    if (t || t.error().error_number() != EBUSY || tries == 200 || ::kill(rec.tid, 0) == 0 || errno != ESRCH) return t;
    usleep(10 * 1000);
  }
}

Result<void> restore_thread_kernel_state(RemoteSyscalls& sys, const Tracee& t, uint64_t scratch, const ThreadRecord& rec,
                                         pid_t tgid) {
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
  // The thread's own pending queue, queued by the thread itself: the kernel accepts
  // kernel-style and tgkill-style siginfo only from the receiving thread.
  for (const SiginfoRecord& si : rec.pending) {
    if (si.info.size() != 128) return Error::corrupt("malformed pending siginfo");
    int sig;
    memcpy(&sig, si.info.data(), sizeof sig);
    CR_TRY(t.write_memory(scratch, si.info.data(), 128));
    CR_TRY(sys.call("rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo,
                    {static_cast<uint64_t>(tgid), static_cast<uint64_t>(t.tid()), static_cast<uint64_t>(sig), scratch}));
  }
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
