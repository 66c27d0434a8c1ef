// epoll (epoll.h).
#include "fds/epoll.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "fds/fd_kind.h"
#include "restore/restore_context.h"

namespace crest {

namespace {

bool detect_epoll(const FdFacts& f) { return f.target == "anon_inode:[eventpoll]"; }

// Whether fd `fd` of `pid` is the file of registration `slot` of its epoll.
bool registered_file(pid_t pid, int fd, kcmp_epoll_slot& slot) {
  return syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, fd, &slot) == 0;
}

Result<void> dump_epoll(const FdFacts& f, FdRecord& rec) {
  EpollRecord e;
  std::vector<int> fds;
  std::map<int, uint32_t> seen;  // tfd -> registrations of that number so far (kcmp's toff)
  for (const std::string& l : f.info.tfd_lines) {
    int tfd = -1;
    unsigned events = 0;
    unsigned long long data = 0;
    if (sscanf(l.c_str(), "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3)
      return Error::unsupported(format("fd %d: cannot parse epoll entry '%s'", rec.fd, l.c_str()));
    EpollTargetRecord t{tfd, events, data, -1};
    // fdinfo and kcmp walk the registrations in the same order.
    kcmp_epoll_slot slot{static_cast<uint32_t>(f.fd), static_cast<uint32_t>(tfd), seen[tfd]++};
    if (!registered_file(f.pid, tfd, slot)) {
      // Closed since (the registration lives on with its file), or the number reused.
      if (fds.empty()) fds = CR_TRY(list_fds(f.pid));
      auto holder = std::find_if(fds.begin(), fds.end(), [&](int fd) { return fd != f.fd && registered_file(f.pid, fd, slot); });
      if (holder == fds.end())
        return Error::unsupported(format("epoll fd %d watches fd %d, which is closed now, and no other descriptor of the "
                                         "process holds its file; not supported", rec.fd, tfd));
      t.file_fd = *holder;
    }
    e.targets.push_back(t);
  }
  set_payload(rec, FdKind::Epoll, e);
  return {};
}

Result<Fd> open_epoll(FdOpenContext&, const FdRecord& rec) {
  CR_TRY(payload_of<EpollRecord>(rec));
  Fd f(epoll_create1(EPOLL_CLOEXEC));
  if (!f.valid()) return Error::os(format("fd %d: recreating %s", rec.fd, rec.path.c_str()));
  return f;
}

// The fd's record if the restored process has it open.
const FdRecord* restored_fd(const ProcessImage& image, int fd) {
  auto it = std::find_if(image.fds.fds.begin(), image.fds.fds.end(), [&](const FdRecord& r) { return r.fd == fd; });
  if (it == image.fds.fds.end() || it->kind == FdKind::Skipped) return nullptr;  // left out (--skip-unsupported)
  return &*it;
}

// The registrations, made by the process itself with its own fd numbers.
Result<void> register_targets(StubSession& s, const ProcessImage& image, const FdRecord& rec) {
  EpollRecord e = CR_TRY(payload_of<EpollRecord>(rec));
  auto call = [&](const char* name, long number, std::initializer_list<uint64_t> args) { return s.sys.call(name, number, args); };
  for (const EpollTargetRecord& t : e.targets) {
    if (!restored_fd(image, t.file_fd >= 0 ? t.file_fd : t.fd)) continue;
    struct __attribute__((packed)) {
      uint32_t events;
      uint64_t data;
    } ev{t.events, t.data};
    CR_TRY(s.tracee.write_memory(s.scratch, &ev, sizeof ev));
    const uint64_t number = static_cast<uint64_t>(t.fd);
    if (t.file_fd < 0) {
      CR_TRY(call("epoll_ctl", SYS_epoll_ctl, {static_cast<uint64_t>(rec.fd), EPOLL_CTL_ADD, number, s.scratch}),
             "registering fd %d with epoll fd %d", t.fd, rec.fd);
      continue;
    }
    // The file at the registration's number for the time of the EPOLL_CTL_ADD; what is
    // at that number now parked meanwhile and put back.
    const FdRecord* there = restored_fd(image, t.fd);
    int64_t parked = -1;
    if (there) parked = CR_TRY(call("fcntl(F_DUPFD_CLOEXEC)", SYS_fcntl, {number, F_DUPFD_CLOEXEC, 0}));
    CR_TRY(call("dup3", SYS_dup3, {static_cast<uint64_t>(t.file_fd), number, 0}));
    CR_TRY(call("epoll_ctl", SYS_epoll_ctl, {static_cast<uint64_t>(rec.fd), EPOLL_CTL_ADD, number, s.scratch}),
           "registering fd %d (closed since; its file is fd %d) with epoll fd %d", t.fd, t.file_fd, rec.fd);
    if (parked >= 0) {
      CR_TRY(call("dup3", SYS_dup3, {static_cast<uint64_t>(parked), number, there->cloexec ? O_CLOEXEC : 0u}));
      CR_TRY(call("close", SYS_close, {static_cast<uint64_t>(parked)}));
    } else {
      CR_TRY(call("close", SYS_close, {number}));
    }
  }
  return {};
}

}  // namespace

const FdKindOps kEpollKind{
    .kind = FdKind::Epoll,
    .name = "epoll",
    .detect = detect_epoll,
    .dump = dump_epoll,
    .open = open_epoll,
    .in_process = register_targets,
    .print = print_payload<EpollRecord>,
};

}  // namespace crest
