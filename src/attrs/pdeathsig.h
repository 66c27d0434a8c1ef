// The parent-death signal of every thread (PR_SET_PDEATHSIG; per thread, cleared by exec
// and by a change of credentials, so it is set after both).
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct ParentDeathSignal : AttributeUnit<8, ThreadValues<int32_t>> {
  static constexpr const char* kName = "pdeathsig";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
