// The process's oom_score_adj (/proc/PID/oom_score_adj), written back from cr_restart.
// Lowering it below the value cr_restart started with (its oom_score_adj_min) takes
// CAP_SYS_RESOURCE: without it such a value fails the restart, naming it.
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct OomScoreAdj : AttributeUnit<3, ProcessValue<int32_t>> {
  static constexpr const char* kName = "oom_score_adj";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
