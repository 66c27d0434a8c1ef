// timerfd (timerfd.h).
#include "fds/timerfd.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>

#include <cstdio>
#include <cstdlib>

#include "fds/fd_kind.h"
#include "sys/io.h"

namespace crest {

namespace {

bool detect_timerfd(const FdFacts& f) { return f.target == "anon_inode:[timerfd]"; }

// A periodic timerfd that expired counts its overruns only when read or queried:
// timerfd_gettime() on a duplicate folds them into the pending expirations and re-arms
// the timer (as the program's own next read would), so fdinfo read after it shows both.
Result<void> dump_timerfd(const FdFacts& f, FdRecord& rec) {
  Fd dup = CR_TRY(dup_target_fd(f.pid, f.fd));
  itimerspec cur{};
  if (timerfd_gettime(dup.get(), &cur) != 0) return Error::os("timerfd_gettime");
  FdInfo info = CR_TRY(read_fdinfo(f.pid, f.fd));
  unsigned long long vs = 0, vn = 0, is = 0, in = 0;
  if (sscanf(info.get("it_value").c_str(), "(%llu, %llu)", &vs, &vn) != 2 ||
      sscanf(info.get("it_interval").c_str(), "(%llu, %llu)", &is, &in) != 2)
    return Error::unsupported(format("fd %d: timerfd state not readable from fdinfo", rec.fd));
  TimerFdRecord t;
  t.clockid = static_cast<uint32_t>(std::strtoul(info.get("clockid").c_str(), nullptr, 10));
  t.ticks = std::strtoull(info.get("ticks").c_str(), nullptr, 10);
  t.value_sec = vs;
  t.value_nsec = vn;
  t.interval_sec = is;
  t.interval_nsec = in;
  set_payload(rec, FdKind::TimerFd, t);
  return {};
}

Result<Fd> open_timerfd(FdOpenContext&, const FdRecord& rec) {
  TimerFdRecord t = CR_TRY(payload_of<TimerFdRecord>(rec));
  Fd f(timerfd_create(static_cast<int>(t.clockid), TFD_CLOEXEC | (rec.flags & O_NONBLOCK)));
  if (!f.valid()) return Error::os(format("fd %d: recreating %s", rec.fd, rec.path.c_str()));
  itimerspec its{{static_cast<time_t>(t.interval_sec), static_cast<long>(t.interval_nsec)},
                 {static_cast<time_t>(t.value_sec), static_cast<long>(t.value_nsec)}};
  // A periodic timer that expired reads 0 until the expiration is read (the kernel
  // re-arms it then): arm it for the next period; the expiration is in `ticks`.
  if (!its.it_value.tv_sec && !its.it_value.tv_nsec) its.it_value = its.it_interval;
  if ((its.it_value.tv_sec || its.it_value.tv_nsec) && timerfd_settime(f.get(), 0, &its, nullptr) != 0)
    return Error::os(format("fd %d: timerfd_settime", rec.fd));
  uint64_t ticks = t.ticks;
  constexpr unsigned long kSetTicks = _IOW('T', 0, uint64_t);  // TFD_IOC_SET_TICKS
  if (ticks && ioctl(f.get(), kSetTicks, &ticks) != 0)
    return Error::os(format("fd %d: restoring %llu timer expirations (TFD_IOC_SET_TICKS)", rec.fd, (unsigned long long)ticks));
  return f;
}

}  // namespace

const FdKindOps kTimerFdKind{
    .kind = FdKind::TimerFd,
    .name = "timerfd",
    .detect = detect_timerfd,
    .dump = dump_timerfd,
    .open = open_timerfd,
    .print = print_payload<TimerFdRecord>,
};

}  // namespace crest
