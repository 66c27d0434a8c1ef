// PR_SET_THP_DISABLE (a flag of the address space): PR_GET_THP_DISABLE's value, 1, or 3
// with PR_THP_DISABLE_EXCEPT_ADVISED (Linux 6.18).
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct ThpDisable : AttributeUnit<6, ProcessValue<uint32_t>> {
  static constexpr const char* kName = "thp_disable";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
