#include "attrs/posix_timers.h"

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "sys/io.h"

namespace crest {

namespace {

// The kernel's struct sigevent, as far as timer_create reads it.
struct KernelSigevent {
  uint64_t value;
  int32_t signo;
  int32_t notify;
  int32_t tid;
  uint8_t pad[44];
};
static_assert(sizeof(KernelSigevent) == 64);

constexpr int kSigevThreadId = 4;  // SIGEV_THREAD_ID
constexpr int kMaxTries = 1 << 20;  // timer_create calls to reach one saved id

// A CPU-time clock is negative: ~pid << 3 | per-thread bit (4) | kind. That of the process
// itself (pid 0: CLOCK_PROCESS_CPUTIME_ID) means the same after a restart; that of a given
// pid or of a thread does not (the pid may change; which thread is meant is not shown).
bool restorable_clock(int32_t clock) { return clock >= 0 || (~(clock >> 3) == 0 && (clock & 4) == 0); }

// /proc/PID/timers: "ID: n", "signal: signo/sival_ptr", "notify: how/pid.N" or "how/tid.N",
// "ClockID: n" per timer.
Result<std::vector<PosixTimerRecord>> parse_timers(const std::string& text) {
  std::vector<PosixTimerRecord> out;
  std::istringstream in(text);
  std::string key;
  while (in >> key) {
    std::string rest;
    std::getline(in, rest);
    const char* v = rest.c_str() + (rest.empty() ? 0 : 1);
    if (key == "ID:") {
      out.push_back({});
      out.back().id = std::atoi(v);
    } else if (out.empty()) {
      return Error::corrupt("/proc/PID/timers: a line before the first ID");
    } else if (key == "signal:") {
      char* slash;
      out.back().signal = static_cast<int32_t>(std::strtol(v, &slash, 10));
      if (*slash == '/') out.back().value = std::strtoull(slash + 1, nullptr, 16);
    } else if (key == "notify:") {
      std::string how(v);
      auto slash = how.find('/');
      std::string kind = how.substr(0, slash);
      out.back().notify = kind == "none" ? SIGEV_NONE : SIGEV_SIGNAL;
      if (slash != std::string::npos && how.compare(slash + 1, 4, "tid.") == 0) {
        out.back().notify |= kSigevThreadId;
        out.back().notify_tid = std::atoi(how.c_str() + slash + 5);
      }
    } else if (key == "ClockID:") {
      out.back().clock = std::atoi(v);
    }
  }
  return out;
}

}  // namespace

Result<void> PosixTimers::read(const ThreadProbe& probe, Record& rec) {
  if (!probe.leader) return {};
  auto text = read_text_file(format("/proc/%d/timers", probe.pid));
  if (!text) return {};  // without CONFIG_CHECKPOINT_RESTORE the kernel shows none
  rec.timers = CR_TRY(parse_timers(*text));
  std::sort(rec.timers.begin(), rec.timers.end(), [](auto& a, auto& b) { return a.id < b.id; });
  for (PosixTimerRecord& t : rec.timers) {
    if (!restorable_clock(t.clock))
      CR_TRY(probe.refuse(format("POSIX timer %d on a CPU-time clock of a given process or of a thread (clock %d)", t.id, t.clock)));
    itimerspec its{};
    CR_TRY(probe.sys.call("timer_gettime", SYS_timer_gettime, {static_cast<uint64_t>(t.id), probe.scratch}), "timer %d", t.id);
    CR_TRY(probe.sys.tracee().read_memory(probe.scratch, &its, sizeof its));
    t.value_sec = its.it_value.tv_sec;
    t.value_nsec = its.it_value.tv_nsec;
    t.interval_sec = its.it_interval.tv_sec;
    t.interval_nsec = its.it_interval.tv_nsec;
  }
  return {};
}

Result<void> PosixTimers::restore(const RestoreTarget& target, const Record& rec) {
  RemoteSyscalls& sys = target.leader();
  const uint64_t sev_at = target.scratch, id_at = target.scratch + 64, its_at = target.scratch + 128;
  for (const PosixTimerRecord& t : rec.timers) {
    if (!restorable_clock(t.clock)) continue;  // left out at checkpoint (--skip-unsupported)
    KernelSigevent sev{};
    sev.value = t.value;
    sev.signo = t.signal;
    sev.notify = t.notify;
    if (t.notify & kSigevThreadId) {
      const RestoreThread* to = target.thread(t.notify_tid);
      if (!to) return Error::corrupt(format("POSIX timer %d signals thread %d, which the image does not have", t.id, t.notify_tid));
      sev.tid = to->tid;
    }
    CR_TRY(sys.tracee().write_memory(sev_at, &sev, sizeof sev));
    int32_t got = -1;
    for (int tries = 0; got != t.id; ++tries) {
      if (tries == kMaxTries) return Error::unsupported(format("POSIX timer %d: no timer id %d after %d timer_create calls", t.id, t.id, tries));
      CR_TRY(sys.call("timer_create", SYS_timer_create, {static_cast<uint64_t>(t.clock), sev_at, id_at}), "timer %d", t.id);
      CR_TRY(sys.tracee().read_memory(id_at, &got, sizeof got));
      if (got > t.id) return Error::unsupported(format("POSIX timer %d: the kernel handed out id %d past it", t.id, got));
      if (got != t.id) CR_TRY(sys.call("timer_delete", SYS_timer_delete, {static_cast<uint64_t>(got)}));
    }
    itimerspec its{{t.interval_sec, t.interval_nsec}, {t.value_sec, t.value_nsec}};
    // A periodic timer whose signal is pending reads 0 until the signal is taken: arm it
    // for the next period.
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value = its.it_interval;
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) continue;
    CR_TRY(sys.tracee().write_memory(its_at, &its, sizeof its));
    CR_TRY(sys.call("timer_settime", SYS_timer_settime, {static_cast<uint64_t>(t.id), 0, its_at, 0}), "timer %d", t.id);
  }
  return {};
}

}  // namespace crest
