// FdKind::TimerFd: a timerfd with its clock, remaining time, interval and expirations not
// yet read (overruns included), from fdinfo; at restart timerfd_create + timerfd_settime,
// and TFD_IOC_SET_TICKS for the pending expirations.
#pragma once

#include <cstdint>

namespace crest {

struct TimerFdRecord {
  uint32_t clockid = 0;
  uint64_t ticks = 0;  // expirations not read yet
  uint64_t value_sec = 0, value_nsec = 0;        // time left
  uint64_t interval_sec = 0, interval_nsec = 0;  // period (0: one-shot)
  template <class V> void fields(V& v) {
    v.field("clockid", clockid); v.field("ticks", ticks);
    v.field("value_sec", value_sec); v.field("value_nsec", value_nsec);
    v.field("interval_sec", interval_sec); v.field("interval_nsec", interval_nsec);
  }
};

}  // namespace crest
