// Per-process and per-thread attributes (nice and scheduling policy, oom_score_adj, the
// prctl flags, ...): what a unit sees when it reads one at checkpoint and when it puts it
// back at restart. Each unit (src/attrs/<unit>.{h,cc}) is a struct deriving from
// AttributeUnit<kId, Record> (kId stable, never reused: docs/image-format.md) with
//   static constexpr const char* kName;
//   static Result<void> read(const ThreadProbe&, Record&);          once per thread
//   static Result<void> restore(const RestoreTarget&, const Record&); once per process
// and is listed once in attribute_table.cc, in restore order.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/format.h"
#include "base/result.h"
#include "ptrace/injection_area.h"
#include "ptrace/remote_syscalls.h"

namespace crest {

// One frozen thread at checkpoint, while syscalls can be injected into it (the checkpointer's
// session: `sys` runs them, `scratch` is a page of the tracee for their arguments).
struct ThreadProbe {
  pid_t pid;
  pid_t tid;
  bool leader;  // the thread-group leader: per-process attributes are read through it
  AreaSyscalls& sys;
  uint64_t scratch;  // 512 bytes
  bool skip_unsupported;  // --skip-unsupported: a value crest cannot restore is warned about

  // prctl(option) whose result is the value (PR_GET_KEEPCAPS, PR_GET_TIMERSLACK, ...).
  Result<uint64_t> prctl_value(const char* name, int option) const;
  // prctl(option, &int) (PR_GET_PDEATHSIG, PR_GET_CHILD_SUBREAPER).
  Result<int32_t> prctl_int(const char* name, int option) const;
  // A value crest does not restore: an Unsupported error naming pid/tid and `what`, or
  // with --skip-unsupported a warning (and {}).
  Result<void> refuse(const std::string& what) const;
};

// One restored thread before it runs: its saved and present tid, and syscalls injected
// into it.
struct RestoreThread {
  pid_t saved_tid;
  pid_t tid;
  RemoteSyscalls* sys;
};

// One restored process before it runs: every thread exists, memory, signals and
// credentials are in place.
struct RestoreTarget {
  pid_t saved_pid;
  pid_t pid;
  std::vector<RestoreThread> threads;  // [0] is the leader
  uint64_t scratch;                    // scratch memory in the process for arguments

  RemoteSyscalls& leader() const { return *threads[0].sys; }
  // The restored thread of a saved tid (nullptr if the image names no such thread).
  const RestoreThread* thread(pid_t saved_tid) const;
};

template <uint32_t Id, class R>
struct AttributeUnit {
  static constexpr uint32_t kId = Id;
  using Record = R;
};

// The record of a unit that keeps one value of the process.
template <class T>
struct ProcessValue {
  T value = 0;
  template <class V> void fields(V& v) { v.field("value", value); }
};

// The record of a unit that keeps one value per thread.
template <class T>
struct ThreadValues {
  struct Thread {
    int32_t tid = 0;
    T value = 0;
    template <class V> void fields(V& v) { v.field("tid", tid); v.field("value", value); }
  };
  std::vector<Thread> threads;
  template <class V> void fields(V& v) { v.field("threads", threads); }

  void add(const ThreadProbe& probe, T value) { threads.push_back({probe.tid, value}); }
  // apply(restored thread, saved value) for each saved thread; a thread the image does
  // not have is a corrupt image.
  template <class F>
  Result<void> restore_each(const RestoreTarget& target, const char* what, F apply) const {
    for (const Thread& saved : threads) {
      const RestoreThread* t = target.thread(saved.tid);
      if (!t) return Error::corrupt(format("%s of thread %d, which the image does not have", what, saved.tid));
      CR_TRY(apply(*t, saved.value), "thread %d", saved.tid);
    }
    return {};
  }
};

}  // namespace crest
