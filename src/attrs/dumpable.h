// The dumpable flag (PR_SET_DUMPABLE, of the address space). 2 (suid_dumpable's
// 'root only') cannot be set by prctl: such a process is refused by name.
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct Dumpable : AttributeUnit<10, ProcessValue<uint32_t>> {
  static constexpr const char* kName = "dumpable";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
