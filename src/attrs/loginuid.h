// The audit login uid of every thread (/proc/PID/task/TID/loginuid). Only the thread itself
// may write it, and only with CAP_AUDIT_CONTROL: as root it is set again by an injected
// write to /proc/thread-self/loginuid; otherwise a value other than the restarted
// thread's own fails the restart, naming it.
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct LoginUid : AttributeUnit<4, ThreadValues<uint32_t>> {
  static constexpr const char* kName = "loginuid";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
