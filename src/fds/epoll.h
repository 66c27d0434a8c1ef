// FdKind::Epoll: an epoll instance and its registrations (fdinfo's "tfd:" lines: target
// fd, events, data). The kernel keys a registration by (file, fd number): the number is
// the one the file had when it was added, and the registration stays while the file
// lives, even once that fd is closed (or the number reused for another file). kcmp
// (KCMP_EPOLL_TFD) tells, at checkpoint, whether the fd of that number is still the
// registered file, and otherwise which other fd of the process is; a registration whose
// file no fd of the process holds is refused by name.
// At restart cr_restart makes an empty epoll; the restored process itself registers each
// target with its own fd numbers once its fds are in place, so that a later
// EPOLL_CTL_MOD/DEL finds them. A registration of a closed (or reused) number is made by
// putting the file at that number for the time of the EPOLL_CTL_ADD (dup3), then putting
// back what was there. An epoll fd shared with an earlier one (dup, fork) registers
// nothing: the earlier one made the registrations of their one instance.
#pragma once

#include <cstdint>
#include <vector>

namespace crest {

struct EpollTargetRecord {
  int32_t fd = 0;        // the number the registration is keyed by
  uint32_t events = 0;
  uint64_t data = 0;
  // -1: fd `fd` of the process is the registered file. Otherwise fd `fd` is closed or is
  // another file now, and fd `file_fd` of the process is the registered file.
  int32_t file_fd = -1;
  template <class V> void fields(V& v) {
    v.field("fd", fd); v.field("events", events); v.field("data", data); v.field("file_fd", file_fd);
  }
};

struct EpollRecord {
  std::vector<EpollTargetRecord> targets;
  template <class V> void fields(V& v) { v.field("targets", targets); }
};

}  // namespace crest
