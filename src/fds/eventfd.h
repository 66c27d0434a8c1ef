// FdKind::EventFd: an eventfd with its counter and mode, from fdinfo; made again with
// eventfd() at restart.
#pragma once

#include <cstdint>

namespace crest {

struct EventFdRecord {
  uint64_t count = 0;
  uint8_t semaphore = 0;  // EFD_SEMAPHORE
  template <class V> void fields(V& v) { v.field("count", count); v.field("semaphore", semaphore); }
};

}  // namespace crest
