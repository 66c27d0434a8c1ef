// POSIX timers (timer_create) with the same ids: each timer's clock, notification
// (SIGEV_SIGNAL, SIGEV_THREAD_ID to a thread of the process, SIGEV_NONE), signal and
// sigev_value from /proc/PID/timers, its remaining time and interval from an injected
// timer_gettime. At restart the process creates timers until the kernel hands out the
// saved id (ids are handed out in increasing order per process), deleting those it
// does not want, then arms each with its remaining time (relative: an absolute
// CLOCK_REALTIME expiry becomes the time that was left). Not restored: the overrun
// count of the last expiry (timer_getoverrun) and the link between a pending timer
// signal and its timer (the pending signal comes back as a queued one).
#pragma once

#include "attrs/attribute.h"

namespace crest {

struct PosixTimerRecord {
  int32_t id = 0;
  int32_t clock = 0;        // CLOCK_*, or the process's CPU-time clock; another CPU-time clock is refused
  int32_t notify = 0;       // SIGEV_SIGNAL, SIGEV_NONE, SIGEV_SIGNAL | SIGEV_THREAD_ID
  int32_t notify_tid = 0;   // the thread, for SIGEV_THREAD_ID
  int32_t signal = 0;
  uint64_t value = 0;       // sigev_value
  int64_t value_sec = 0, value_nsec = 0, interval_sec = 0, interval_nsec = 0;
  template <class V> void fields(V& v) {
    v.field("id", id); v.field("clock", clock); v.field("notify", notify); v.field("notify_tid", notify_tid);
    v.field("signal", signal); v.field("value", value); v.field("value_sec", value_sec);
    v.field("value_nsec", value_nsec); v.field("interval_sec", interval_sec); v.field("interval_nsec", interval_nsec);
  }
};

struct PosixTimersRecord {
  std::vector<PosixTimerRecord> timers;  // by increasing id
  template <class V> void fields(V& v) { v.field("timers", timers); }
};

struct PosixTimers : AttributeUnit<12, PosixTimersRecord> {
  static constexpr const char* kName = "posix_timers";
  static Result<void> read(const ThreadProbe& probe, Record& rec);
  static Result<void> restore(const RestoreTarget& target, const Record& rec);
};

}  // namespace crest
