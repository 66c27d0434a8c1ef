// FdKind::Epoll: an epoll instance and its registrations (fdinfo's "tfd:" lines: target
// fd, events, data). At restart cr_restart makes an empty epoll; the restored process
// itself registers each target with its own fd numbers once its fds are in place (epoll
// keys registrations by file and fd number, so a later EPOLL_CTL_MOD/DEL finds them).
#pragma once

#include <cstdint>
#include <vector>

namespace crest {

struct EpollTargetRecord {
  int32_t fd = 0;
  uint32_t events = 0;
  uint64_t data = 0;
  template <class V> void fields(V& v) { v.field("fd", fd); v.field("events", events); v.field("data", data); }
};

struct EpollRecord {
  std::vector<EpollTargetRecord> targets;
  template <class V> void fields(V& v) { v.field("targets", targets); }
};

}  // namespace crest
