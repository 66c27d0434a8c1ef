// FdKind::Pidfd: a pidfd (anon_inode:[pidfd], pidfd_open or clone's CLONE_PIDFD) of a
// process of the checkpoint, itself included. fdinfo's "Pid:" names the process; at
// restart the fd is a pidfd_open of that process's restored pid (PIDFD_NONBLOCK if it
// had O_NONBLOCK), opened inside the restored process once every process exists. Refused
// by name: a pidfd of a process outside the checkpoint, of one that is gone (Pid: -1),
// or of a thread (PIDFD_THREAD). Descriptors sharing one pidfd (dup, fork) come back as
// pidfds of their own, of the same process.
#pragma once

#include <cstdint>

namespace crest {

struct PidfdRecord {
  int32_t pid = 0;  // the process it refers to, as saved
  template <class V> void fields(V& v) { v.field("pid", pid); }
};

}  // namespace crest
