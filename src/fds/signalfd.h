// FdKind::SignalFd: a signalfd with its signal mask, from fdinfo; made again with
// signalfd() at restart (the signals it reports are the process's pending ones).
#pragma once

#include <cstdint>

namespace crest {

struct SignalFdRecord {
  uint64_t sigmask = 0;  // bit sig-1 for each signal
  template <class V> void fields(V& v) { v.field("sigmask", sigmask); }
};

}  // namespace crest
