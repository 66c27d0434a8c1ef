// Scheduling policy, real-time priority and nice value of every thread (the kernel keeps
// them per thread): read with sched_getattr from outside, set with sched_setattr from
// cr_restart, with cr_restart's privileges (as chrt or renice would).
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct Scheduling {
  static constexpr uint32_t kId = 1;
  static constexpr const char* kName = "scheduling";
  struct Thread {
    int32_t tid = 0;
    uint32_t policy = 0;    // SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE
    uint64_t flags = 0;     // SCHED_FLAG_RESET_ON_FORK (the only flag kept)
    int32_t nice = 0;
    uint32_t priority = 0;  // real-time priority (FIFO, RR)
    uint64_t runtime = 0, deadline = 0, period = 0;  // SCHED_DEADLINE
    template <class V> void fields(V& v) {
      v.field("tid", tid); v.field("policy", policy); v.field("flags", flags); v.field("nice", nice);
      v.field("priority", priority); v.field("runtime", runtime); v.field("deadline", deadline); v.field("period", period);
    }
  };
  struct Record {
    std::vector<Thread> threads;
    template <class V> void fields(V& v) { v.field("threads", threads); }
  };
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
