#include "attrs/seccomp.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdlib>

#include "base/format.h"
#include "ptrace/tracee.h"
#include "sys/io.h"

namespace crest {

namespace {

Result<uint8_t> seccomp_mode(pid_t pid, pid_t tid) {
  auto text = CR_TRY(read_text_file(format("/proc/%d/task/%d/status", pid, tid)));
  auto at = text.find("\nSeccomp:");
  if (at == std::string::npos) return uint8_t{0};
  return static_cast<uint8_t>(std::atoi(text.c_str() + at + 9));
}

// Filter `index` of the thread's chain (0: the newest); ENOENT past the oldest.
Result<SeccompFilterRecord> read_filter(pid_t tid, unsigned long index) {
  long count = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, index, nullptr);
  if (count < 0) return Error::os(format("ptrace(PTRACE_SECCOMP_GET_FILTER, %lu)", index));
  SeccompFilterRecord f;
  f.program.resize(static_cast<size_t>(count) * sizeof(sock_filter));
  if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, index, f.program.data()) != count)
    return Error::os(format("ptrace(PTRACE_SECCOMP_GET_FILTER, %lu)", index));
  __ptrace_seccomp_metadata meta{index, 0};
  if (ptrace(PTRACE_SECCOMP_GET_METADATA, tid, sizeof meta, &meta) < 0)
    return Error::os(format("ptrace(PTRACE_SECCOMP_GET_METADATA, %lu)", index));
  f.flags = meta.flags;
  return f;
}

bool same_filters(const SeccompThreadRecord& a, const SeccompThreadRecord& b) {
  if (a.mode != b.mode || a.filters.size() != b.filters.size()) return false;
  for (size_t i = 0; i < a.filters.size(); ++i)
    if (a.filters[i].flags != b.filters[i].flags || a.filters[i].program != b.filters[i].program) return false;
  return true;
}

// From here on the thread's own filters do not apply to what cr_restart injects into it.
Result<void> suspend_seccomp(pid_t tid) {
  if (ptrace(PTRACE_SETOPTIONS, tid, nullptr, kRestoreTraceOptions | PTRACE_O_SUSPEND_SECCOMP) != 0)
    return Error::os("ptrace(PTRACE_SETOPTIONS, PTRACE_O_SUSPEND_SECCOMP) (restoring seccomp needs CAP_SYS_ADMIN)");
  return {};
}

Result<void> install(const RestoreThread& t, const SeccompThreadRecord& saved, uint64_t scratch, uint64_t extra_flags) {
  if (saved.mode == SECCOMP_MODE_STRICT) {
    CR_TRY(t.sys->call("prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT)", SYS_prctl, {PR_SET_SECCOMP, SECCOMP_MODE_STRICT}));
    return {};
  }
  if (saved.mode != SECCOMP_MODE_FILTER) return Error::corrupt(format("seccomp mode %u", saved.mode));
  for (const SeccompFilterRecord& f : saved.filters) {
    if (f.program.empty() || f.program.size() % sizeof(sock_filter) || f.program.size() > BPF_MAXINSNS * sizeof(sock_filter))
      return Error::corrupt(format("a seccomp filter of %zu bytes", f.program.size()));
    const uint64_t insns = scratch + 64;
    sock_fprog prog{static_cast<unsigned short>(f.program.size() / sizeof(sock_filter)), reinterpret_cast<sock_filter*>(insns)};
    CR_TRY(t.sys->tracee().write_memory(scratch, &prog, sizeof prog));
    CR_TRY(t.sys->tracee().write_memory(insns, f.program.data(), f.program.size()));
    CR_TRY(t.sys->call("seccomp(SECCOMP_SET_MODE_FILTER)", SYS_seccomp, {SECCOMP_SET_MODE_FILTER, f.flags | extra_flags, scratch}));
  }
  return {};
}

}  // namespace

Result<void> Seccomp::read(const ThreadProbe& probe, Record& rec) {
  SeccompThreadRecord t;
  t.tid = probe.tid;
  t.mode = CR_TRY(seccomp_mode(probe.pid, probe.tid));
  if (t.mode == 0) return {};
  if (t.mode == SECCOMP_MODE_FILTER) {
    for (unsigned long index = 0;; ++index) {
      auto f = read_filter(probe.tid, index);
      if (!f && f.error().error_number() == ENOENT && index > 0) break;
      if (!f && (f.error().error_number() == EACCES || f.error().error_number() == EPERM))
        return probe.refuse("seccomp mode 2 (filter): reading its filters needs CAP_SYS_ADMIN (PTRACE_SECCOMP_GET_FILTER)");
      if (!f) return f.error();
      t.filters.insert(t.filters.begin(), std::move(*f));  // oldest first
    }
  } else if (geteuid() != 0) {
    // Strict mode allows no syscall but read, write, exit and sigreturn: only a root
    // restart, which suspends it while injecting, can put it back before the process runs.
    return probe.refuse("seccomp mode 1 (strict): restored only by root (PTRACE_O_SUSPEND_SECCOMP)");
  }
  rec.threads.push_back(std::move(t));
  return {};
}

Result<void> Seccomp::restore(const RestoreTarget& target, const Record& rec) {
  if (rec.threads.empty()) return {};
  std::vector<const RestoreThread*> threads;
  for (const SeccompThreadRecord& saved : rec.threads) {
    const RestoreThread* t = target.thread(saved.tid);
    if (!t) return Error::corrupt(format("seccomp of thread %d, which the image does not have", saved.tid));
    threads.push_back(t);
  }
  for (const RestoreThread& t : target.threads) CR_TRY(suspend_seccomp(t.tid), "thread %d", t.saved_tid);
  // Every thread with one chain: installed once, shared by all (TSYNC), as a filter
  // installed with TSYNC or inherited by threads made after it is.
  bool shared = rec.threads.size() == target.threads.size() && rec.threads[0].mode == SECCOMP_MODE_FILTER && target.threads.size() > 1;
  for (const SeccompThreadRecord& saved : rec.threads) shared = shared && same_filters(saved, rec.threads[0]);
  if (shared) return install(target.threads[0], rec.threads[0], target.scratch, SECCOMP_FILTER_FLAG_TSYNC);
  for (size_t i = 0; i < rec.threads.size(); ++i)
    CR_TRY(install(*threads[i], rec.threads[i], target.scratch, 0), "thread %d", rec.threads[i].tid);
  return {};
}

}  // namespace crest
