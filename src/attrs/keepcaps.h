// PR_SET_KEEPCAPS of every thread (SECBIT_KEEP_CAPS in the thread's credentials; cleared by
// exec). The other securebits are restored with the credentials (credentials_restore.cc).
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct KeepCaps : AttributeUnit<9, ThreadValues<uint8_t>> {
  static constexpr const char* kName = "keepcaps";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
