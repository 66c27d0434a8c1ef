#include "checkpoint/busy_lock.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <optional>

#include "sys/procfs.h"

namespace crest {

namespace {

sockaddr_un lock_address(pid_t pid, socklen_t& len) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = format("crest-busy/%d", pid);
  memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] == '\0': abstract
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return addr;
}

// The user who holds the name, when it is held the way crest holds it (a listening
// seqpacket socket: connecting gives the listener's credentials). Nothing when the name
// is bound some other way or the holder does not answer.
std::optional<uid_t> holder_uid(const sockaddr_un& addr, socklen_t len) {
  Fd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid() || ::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0) return std::nullopt;
  ucred cred{};
  socklen_t size = sizeof cred;
  if (getsockopt(s.get(), SOL_SOCKET, SO_PEERCRED, &cred, &size) != 0) return std::nullopt;
  return cred.uid;
}

// Could `uid` checkpoint or restart process `pid`? Root, our own user, or the user all
// of whose real, effective and saved ids the process has (what ptrace asks of a tracer
// without CAP_SYS_PTRACE). For a process that is gone, only root and our user.
bool entitled(uid_t uid, pid_t pid) {
  if (uid == 0 || uid == geteuid()) return true;
  auto status = read_status(pid);
  if (!status) return false;
  unsigned long r = 0, e = 0, s = 0;
  if (sscanf(status->get("Uid").c_str(), "%lu %lu %lu", &r, &e, &s) != 3) return false;
  return r == uid && e == uid && s == uid;
}

}  // namespace

Result<void> BusyLocks::take(pid_t pid) {
  if (holds(pid)) return {};
  Fd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s.valid()) return Error::os("socket for a busy lock");
  socklen_t len = 0;
  sockaddr_un addr = lock_address(pid, len);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    if (errno != EADDRINUSE) return Error::os(format("binding the busy lock of process %d", pid));
    // Anyone may bind an abstract name: a holder counts only if it could itself
    // checkpoint the process. A name squatted by another user (or bound in a way crest
    // never binds it) is ignored, and the process goes unlocked: two entitled
    // checkpoints still exclude each other when the second one's PTRACE_SEIZE fails.
    auto uid = holder_uid(addr, len);
    if (uid && entitled(*uid, pid))
      return Error(ErrorKind::Os, EBUSY, format("process %d is part of another checkpoint or restart", pid));
    return {};
  }
  // Checkers connect only to read our credentials and never get accepted: room for many.
  if (::listen(s.get(), SOMAXCONN) != 0) return Error::os(format("listening on the busy lock of process %d", pid));
  locks_.emplace(pid, std::move(s));
  return {};
}

}  // namespace crest
