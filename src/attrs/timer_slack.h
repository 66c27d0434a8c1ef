// The timer slack of every thread (PR_GET_TIMERSLACK / PR_SET_TIMERSLACK, per thread;
// 0 under a real-time policy, which the kernel keeps at 0).
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct TimerSlack : AttributeUnit<2, ThreadValues<uint64_t>> {
  static constexpr const char* kName = "timer_slack";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
