// eventfd (eventfd.h).
#include "fds/eventfd.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>

#include "fds/fd_kind.h"

namespace crest {

namespace {

bool detect_eventfd(const FdFacts& f) { return f.target == "anon_inode:[eventfd]"; }

Result<void> dump_eventfd(const FdFacts& f, FdRecord& rec) {
  if (f.info.get("eventfd-count").empty()) return Error::unsupported(format("fd %d: eventfd without a count in fdinfo", rec.fd));
  EventFdRecord e;
  e.count = std::strtoull(f.info.get("eventfd-count").c_str(), nullptr, 16);
  e.semaphore = f.info.get("eventfd-semaphore") == "1";
  set_payload(rec, FdKind::EventFd, e);
  return {};
}

Result<Fd> open_eventfd(FdOpenContext&, const FdRecord& rec) {
  EventFdRecord e = CR_TRY(payload_of<EventFdRecord>(rec));
  Fd f(eventfd(static_cast<unsigned>(e.count), EFD_CLOEXEC | (rec.flags & O_NONBLOCK) | (e.semaphore ? EFD_SEMAPHORE : 0)));
  if (!f.valid()) return Error::os(format("fd %d: recreating %s", rec.fd, rec.path.c_str()));
  if (e.count > UINT32_MAX) {
    uint64_t rest = e.count;
    (void)!::write(f.get(), &rest, sizeof rest);
  }
  return f;
}

}  // namespace

const FdKindOps kEventFdKind{
    .kind = FdKind::EventFd,
    .name = "eventfd",
    .detect = detect_eventfd,
    .dump = dump_eventfd,
    .open = open_eventfd,
    .print = print_payload<EventFdRecord>,
};

}  // namespace crest
