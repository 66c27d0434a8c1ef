// SignalsRecord: dispositions, the shared pending queue and interval timers.
#pragma once

#include <cstdint>
#include <vector>

namespace crest {

struct SigactionRecord {
  uint64_t handler = 0, flags = 0, restorer = 0, mask = 0;  // kernel struct sigaction
  template <class V> void fields(V& v) {
    v.field("handler", handler); v.field("flags", flags); v.field("restorer", restorer); v.field("mask", mask);
  }
};

struct SiginfoRecord {
  std::vector<uint8_t> info;  // 128-byte siginfo_t
  template <class V> void fields(V& v) { v.field("info", info); }
};

struct ItimerRecord {
  int64_t interval_sec = 0, interval_usec = 0, value_sec = 0, value_usec = 0;
  template <class V> void fields(V& v) {
    v.field("interval_sec", interval_sec); v.field("interval_usec", interval_usec);
    v.field("value_sec", value_sec); v.field("value_usec", value_usec);
  }
};

struct SignalsRecord {
  std::vector<SigactionRecord> actions;    // index = signal number - 1, 64 entries
  std::vector<SiginfoRecord> shared_pending;
  std::vector<ItimerRecord> itimers;       // ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF
  template <class V> void fields(V& v) {
    v.field("actions", actions); v.field("shared_pending", shared_pending); v.field("itimers", itimers);
  }
};

}  // namespace crest
