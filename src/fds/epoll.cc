// epoll (epoll.h).
#include "fds/epoll.h"

#include <sys/epoll.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstdio>

#include "fds/fd_kind.h"
#include "restore/restore_context.h"

namespace crest {

namespace {

bool detect_epoll(const FdFacts& f) { return f.target == "anon_inode:[eventpoll]"; }

Result<void> dump_epoll(const FdFacts& f, FdRecord& rec) {
  EpollRecord e;
  for (const std::string& l : f.info.tfd_lines) {
    int tfd = -1;
    unsigned events = 0;
    unsigned long long data = 0;
    if (sscanf(l.c_str(), "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3)
      return Error::unsupported(format("fd %d: cannot parse epoll entry '%s'", rec.fd, l.c_str()));
    e.targets.push_back({tfd, events, data});
  }
  set_payload(rec, FdKind::Epoll, e);
  return {};
}

Result<void> check_targets(const FdTableRecord& table, const FdRecord& rec) {
  EpollRecord e = CR_TRY(payload_of<EpollRecord>(rec));
  for (const EpollTargetRecord& t : e.targets)
    if (std::none_of(table.fds.begin(), table.fds.end(), [&](const FdRecord& r) { return r.fd == t.fd; }))
      return Error::unsupported(format("epoll fd %d watches fd %d, which is closed now; not supported", rec.fd, t.fd));
  return {};
}

Result<Fd> open_epoll(FdOpenContext&, const FdRecord& rec) {
  CR_TRY(payload_of<EpollRecord>(rec));
  Fd f(epoll_create1(EPOLL_CLOEXEC));
  if (!f.valid()) return Error::os(format("fd %d: recreating %s", rec.fd, rec.path.c_str()));
  return f;
}

// The registrations, made by the process itself with its own fd numbers.
Result<void> register_targets(StubSession& s, const ProcessImage& image, const FdRecord& rec) {
  EpollRecord e = CR_TRY(payload_of<EpollRecord>(rec));
  for (const EpollTargetRecord& t : e.targets) {
    auto target = std::find_if(image.fds.fds.begin(), image.fds.fds.end(), [&](const FdRecord& r) { return r.fd == t.fd; });
    if (target == image.fds.fds.end() || target->kind == FdKind::Skipped) continue;  // left out (--skip-unsupported)
    struct __attribute__((packed)) {
      uint32_t events;
      uint64_t data;
    } ev{t.events, t.data};
    CR_TRY(s.tracee.write_memory(s.scratch, &ev, sizeof ev));
    CR_TRY(s.sys.call("epoll_ctl", SYS_epoll_ctl, {static_cast<uint64_t>(rec.fd), EPOLL_CTL_ADD, static_cast<uint64_t>(t.fd), s.scratch}),
           "registering fd %d with epoll fd %d", t.fd, rec.fd);
  }
  return {};
}

}  // namespace

const FdKindOps kEpollKind{
    .kind = FdKind::Epoll,
    .name = "epoll",
    .detect = detect_epoll,
    .dump = dump_epoll,
    .check_table = check_targets,
    .open = open_epoll,
    .in_process = register_targets,
    .print = print_payload<EpollRecord>,
};

}  // namespace crest
