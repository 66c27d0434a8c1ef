// seccomp of every thread: strict mode, or the chain of filters it runs (oldest first),
// with each filter's flags. Read at checkpoint with ptrace(PTRACE_SECCOMP_GET_FILTER) and
// PTRACE_SECCOMP_GET_METADATA, which need CAP_SYS_ADMIN: an ordinary user's checkpoint
// refuses a filter by name. Restored last of all attributes (after no_new_privs, which
// installing a filter without CAP_SYS_ADMIN needs), with seccomp(SECCOMP_SET_MODE_FILTER)
// or prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) injected into each thread, while cr_restart
// holds the thread with PTRACE_O_SUSPEND_SECCOMP (root only), so that its own later
// injected syscalls are not filtered. When every thread had the same chain it is
// installed once with SECCOMP_FILTER_FLAG_TSYNC, so the threads share it as they did.
#pragma once

#include <cstdint>
#include <vector>

#include "attrs/attribute.h"

namespace crest {

struct SeccompFilterRecord {
  uint64_t flags = 0;             // SECCOMP_FILTER_FLAG_* kept by the kernel (LOG)
  std::vector<uint8_t> program;   // struct sock_filter[], 8 bytes each
  template <class V> void fields(V& v) { v.field("flags", flags); v.field("program", program); }
};

struct SeccompThreadRecord {
  int32_t tid = 0;
  uint8_t mode = 0;  // SECCOMP_MODE_STRICT 1, SECCOMP_MODE_FILTER 2
  std::vector<SeccompFilterRecord> filters;  // oldest first (mode 2)
  template <class V> void fields(V& v) { v.field("tid", tid); v.field("mode", mode); v.field("filters", filters); }
};

struct SeccompRecord {
  std::vector<SeccompThreadRecord> threads;  // the threads with a mode other than 0
  template <class V> void fields(V& v) { v.field("threads", threads); }
};

struct Seccomp : AttributeUnit<15, SeccompRecord> {
  static constexpr const char* kName = "seccomp";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
