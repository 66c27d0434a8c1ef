// no_new_privs of every thread (PR_SET_NO_NEW_PRIVS; per thread, and it cannot be unset).
// Restored last: it constrains every later execve.
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct NoNewPrivs : AttributeUnit<11, ThreadValues<uint8_t>> {
  static constexpr const char* kName = "no_new_privs";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
