// The process's membarrier registrations (MEMBARRIER_CMD_GET_REGISTRATIONS, Linux 6.3),
// registered again by the restored process. A kernel that cannot report them is
// assumed to have none (nothing shows them otherwise).
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct Membarrier : AttributeUnit<5, ProcessValue<uint32_t>> {
  static constexpr const char* kName = "membarrier";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
