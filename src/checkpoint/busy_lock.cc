#include "checkpoint/busy_lock.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstring>

namespace crest {

Result<void> BusyLocks::take(pid_t pid) {
  if (holds(pid)) return {};
  Fd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Error::os("socket for a busy lock");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = format("crest-busy/%d", pid);
  memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] == '\0': abstract
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (errno == EADDRINUSE)
      return Error(ErrorKind::Os, EBUSY, format("process %d is part of another checkpoint or restart", pid));
    return Error::os(format("binding the busy lock of process %d", pid));
  }
  locks_.emplace(pid, std::move(s));
  return {};
}

}  // namespace crest
