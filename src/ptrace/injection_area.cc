#include "ptrace/injection_area.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstddef>
#include <cstring>

#include "base/scope_exit.h"
#include "ptrace/remote_syscalls.h"

// The batch, assembled into this binary and copied into each process's area (it only
// addresses its own area, rip-relative). rbx = first table entry, r12 = the end of the
// table; each 64-byte entry is {nr, a0..a5, result}. After the table: restore the saved
// signal mask (rt_sigprocmask), then, at crest_batch_restore (where the tracer takes
// over when it is there), the saved flags (through the area's stack), every saved
// register, and a jump to the saved rip. Offsets: BatchFrame below.
asm(R"(
  .pushsection .rodata.crest_batch, "a"
  .globl crest_batch_code
  .globl crest_batch_restore
  .globl crest_batch_code_end
  .set FRAME, crest_batch_code + 2048
  .set STACK_TOP, crest_batch_code + 5 * 4096 - 64
crest_batch_code:
1:
  cmp %r12, %rbx
  jae 2f
  mov (%rbx), %rax
  mov 8(%rbx), %rdi
  mov 16(%rbx), %rsi
  mov 24(%rbx), %rdx
  mov 32(%rbx), %r10
  mov 40(%rbx), %r8
  mov 48(%rbx), %r9
  syscall
  mov %rax, 56(%rbx)
  add $64, %rbx
  jmp 1b
2:
  mov $14, %eax
  mov $2, %edi
  lea FRAME + 144(%rip), %rsi
  xor %edx, %edx
  mov $8, %r10d
  syscall
crest_batch_restore:
  lea STACK_TOP(%rip), %rsp
  pushq FRAME + 136(%rip)
  popfq
  mov FRAME + 0(%rip), %rax
  mov FRAME + 8(%rip), %rbx
  mov FRAME + 16(%rip), %rcx
  mov FRAME + 24(%rip), %rdx
  mov FRAME + 32(%rip), %rsi
  mov FRAME + 40(%rip), %rdi
  mov FRAME + 48(%rip), %rbp
  mov FRAME + 56(%rip), %r8
  mov FRAME + 64(%rip), %r9
  mov FRAME + 72(%rip), %r10
  mov FRAME + 80(%rip), %r11
  mov FRAME + 88(%rip), %r12
  mov FRAME + 96(%rip), %r13
  mov FRAME + 104(%rip), %r14
  mov FRAME + 112(%rip), %r15
  mov FRAME + 120(%rip), %rsp
  jmp *FRAME + 128(%rip)
crest_batch_code_end:
  .popsection
)");

extern "C" const uint8_t crest_batch_code[], crest_batch_restore[], crest_batch_code_end[];

namespace crest {

namespace {

// What the batch's tail reloads; at InjectionArea::kFrameOffset in the code page.
struct BatchFrame {
  uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15, rsp, rip, eflags;
  uint64_t mask;       // the thread's own signal mask
  uint64_t block_all;  // every signal, for the batch's first rt_sigprocmask
};
static_assert(offsetof(BatchFrame, rsp) == 120 && offsetof(BatchFrame, rip) == 128 && offsetof(BatchFrame, eflags) == 136);
static_assert(offsetof(BatchFrame, mask) == 144);

struct TableEntry {
  uint64_t number, args[6], result;
};
static_assert(sizeof(TableEntry) == 64);

constexpr uint8_t kSyscallInsn[2] = {0x0f, 0x05};
constexpr uint64_t kAllSignals = ~0ull;

BatchFrame frame_of(const user_regs_struct& r, uint64_t mask) {
  return {r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8,  r.r9,     r.r10, r.r11,
          r.r12, r.r13, r.r14, r.r15, r.rsp, r.rip, r.eflags, mask, kAllSignals};
}

// Resumes the thread to its next syscall stop (entry or exit), passing over the stops a
// job-control stop or our own interrupt leave queued. Waits are not given up when a
// signal interrupts us (cr_checkpoint's SIGTERM or time limit): the thread is always
// back in a ptrace-stop on return, so that its registers can be put back.
Result<void> next_syscall_stop(const Tracee& t) {
  for (;;) {
    if (ptrace(PTRACE_SYSCALL, t.tid(), nullptr, nullptr) != 0)
      return errno == ESRCH ? Error::gone(format("thread %d is gone", t.tid())) : Error::os(format("ptrace(PTRACE_SYSCALL) on %d", t.tid()));
    int status = 0;
    pid_t w;
    while ((w = waitpid(t.tid(), &status, __WALL)) < 0 && errno == EINTR) {
    }
    if (w < 0) return Error::gone(format("waiting for thread %d: it is gone", t.tid()));
    if (WIFEXITED(status) || WIFSIGNALED(status)) return Error::gone(format("thread %d ended during injected syscalls", t.tid()));
    if (WSTOPSIG(status) == (SIGTRAP | 0x80)) return {};
    if ((status >> 16) == PTRACE_EVENT_STOP) continue;
    return Error::os(format("thread %d: signal %d during injected syscalls", t.tid(), WSTOPSIG(status)), EINVAL);
  }
}

// Puts a thread's signal mask and registers back, in that order: the registers last, so
// that until they are back a thread in a batch still runs it to its end (and puts its
// mask back itself), and once they are back a detach resumes it where it was.
void put_back(const Tracee& t, const user_regs_struct& regs, uint64_t mask) {
  (void)t.set_sigmask(mask);
  (void)t.set_regs(regs);
}

}  // namespace

Result<user_regs_struct> resumable_regs(const Tracee& t) {
  user_regs_struct regs = CR_TRY(t.get_regs());
  rewind_interrupted_syscall(regs, /*restart_block_valid=*/true);
  return regs;
}

Result<uint64_t> InjectionArea::leader_call(const char* name, long number, std::initializer_list<uint64_t> args) {
  const Tracee& t = leader_;
  const user_regs_struct regs = CR_TRY(resumable_regs(t));
  const uint64_t mask = CR_TRY(t.get_sigmask());
  uint8_t saved_code[2] = {};
  if (borrow_) CR_TRY(t.read_memory(gadget_, saved_code, 2));
  const user_regs_struct r = syscall_regs(regs, gadget_, number, args);
  // From the first change to the last, in reverse on every path.
  ScopeExit restore([&] {
    put_back(t, regs, mask);
    if (borrow_) (void)t.write_memory(gadget_, saved_code, 2);
  });
  if (borrow_) CR_TRY(t.write_memory(gadget_, kSyscallInsn, 2), "injecting %s", name);
  CR_TRY(t.set_regs(r), "injecting %s", name);
  CR_TRY(t.set_sigmask(kAllSignals), "injecting %s", name);
  CR_TRY(next_syscall_stop(t), "injecting %s (entry)", name);
  CR_TRY(next_syscall_stop(t), "injecting %s (exit)", name);
  auto out = CR_TRY(t.get_regs(), "injecting %s", name);
  long ret = static_cast<long>(out.rax);
  if (ret < 0 && ret >= -4095) return Error::remote(format("%s in process %d", name, t.tid()), static_cast<int>(-ret));
  return out.rax;
}

Result<std::unique_ptr<InjectionArea>> InjectionArea::create(const Tracee& leader, uint64_t gadget, bool borrow_gadget) {
  std::unique_ptr<InjectionArea> area(new InjectionArea(leader, gadget, borrow_gadget));
  // Executable, not writable: the batch's first call makes the rest writable (a process
  // that forbids writable+executable memory, PR_SET_MDWE, still accepts this).
  area->address_ = CR_TRY(area->leader_call("mmap", SYS_mmap,
                                            {0, kSize, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                                             static_cast<uint64_t>(-1), 0}),
                          "mapping the injection area");
  const size_t code_size = static_cast<size_t>(crest_batch_code_end - crest_batch_code);
  static_assert(sizeof(BatchFrame) < kPage - kFrameOffset);
  CR_TRY(leader.write_memory(area->address_, crest_batch_code, code_size), "writing the injected batch code");
  return area;
}

InjectionArea::~InjectionArea() {
  if (address_) (void)leader_call("munmap", SYS_munmap, {address_, kSize});
}

Result<std::vector<int64_t>> InjectionArea::run(const Tracee& t, const std::vector<BatchCall>& calls) {
  if (calls.size() > kMaxCalls) return Error::invalid("too many injected calls in one batch");
  const user_regs_struct regs = CR_TRY(resumable_regs(t));
  const uint64_t mask = CR_TRY(t.get_sigmask());
  // The table: make the area's data writable, block every signal, then the calls.
  std::vector<TableEntry> table;
  table.push_back({SYS_mprotect, {address_ + kTableOffset, kSize - kTableOffset, PROT_READ | PROT_WRITE}, 0});
  table.push_back({SYS_rt_sigprocmask, {SIG_SETMASK, address_ + kFrameOffset + offsetof(BatchFrame, block_all), 0, 8}, 0});
  for (const BatchCall& c : calls) {
    TableEntry e{static_cast<uint64_t>(c.number), {}, 0};
    memcpy(e.args, c.args, sizeof e.args);
    table.push_back(e);
  }
  const BatchFrame frame = frame_of(regs, mask);
  CR_TRY(t.write_memory(address_ + kFrameOffset, &frame, sizeof frame), "writing the batch frame of thread %d", t.tid());
  const size_t table_bytes = table.size() * sizeof(TableEntry);
  CR_TRY(t.write_memory(address_ + kTableOffset, table.data(), table_bytes), "writing the batch of thread %d", t.tid());

  user_regs_struct r = regs;
  r.rip = address_;
  r.rbx = address_ + kTableOffset;
  r.r12 = address_ + kTableOffset + table_bytes;
  r.rsp = address_ + kSize - 64;
  r.orig_rax = static_cast<uint64_t>(-1);
  ScopeExit restore([&] { put_back(t, regs, mask); });
  // From here a detach (we die) lets the thread run the batch to its end and resume itself.
  CR_TRY(t.set_regs(r), "starting the batch of thread %d", t.tid());
  CR_TRY(t.set_sigmask(kAllSignals));
  // Entry and exit of every call, then of the tail's rt_sigprocmask: its exit stop is
  // where we take over.
  const size_t stops = 2 * table.size() + 2;
  for (size_t i = 0; i < stops; ++i) CR_TRY(next_syscall_stop(t), "running the batch of thread %d", t.tid());
  auto end = CR_TRY(t.get_regs());
  const uint64_t restore_at = address_ + static_cast<uint64_t>(crest_batch_restore - crest_batch_code);
  if (end.rip != restore_at)
    return Error::os(format("thread %d: the injected batch stopped at %llx, not at its end", t.tid(), (unsigned long long)end.rip), EINVAL);
  CR_TRY(t.read_memory(address_ + kTableOffset, table.data(), table_bytes), "reading the results of thread %d", t.tid());
  std::vector<int64_t> results;
  for (size_t i = 0; i < table.size(); ++i) {
    int64_t ret = static_cast<int64_t>(table[i].result);
    if (i < 2 && ret < 0 && ret >= -4095)
      return Error::remote(format("preparing the injected batch in thread %d", t.tid()), static_cast<int>(-ret));
    if (i >= 2) results.push_back(ret);
  }
  return results;
}

Result<uint64_t> AreaSyscalls::call(const char* name, long nr, std::initializer_list<uint64_t> args) {
  BatchCall c{nr, {}};
  size_t i = 0;
  for (uint64_t a : args) c.args[i++] = a;
  std::vector<int64_t> r = CR_TRY(area_.run(tracee_, {c}), "%s in thread %d", name, tracee_.tid());
  if (r[0] < 0 && r[0] >= -4095) return Error::remote(format("%s in thread %d", name, tracee_.tid()), static_cast<int>(-r[0]));
  return static_cast<uint64_t>(r[0]);
}

}  // namespace crest
