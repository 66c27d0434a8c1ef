// PR_SET_CHILD_SUBREAPER (per process). Set again once the process's children exist, so
// the kernel marks them as having a subreaper, and orphans after the restart come to it.
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct ChildSubreaper : AttributeUnit<7, ProcessValue<uint8_t>> {
  static constexpr const char* kName = "child_subreaper";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
