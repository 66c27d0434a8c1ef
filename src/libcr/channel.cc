// The unix-socket client of protocol.h: libcr's end of the channel to the dumper (and,
// after a restart, to the restorer). Async-signal-safe: plain system calls only.
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine.h"

namespace crest::libcr {

int channel_connect(pid_t dumper, uint64_t token) {
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  char name[64];
  int len = proto::channel_name(name, dumper, token);
  for (int i = 0; i < len; ++i) addr.sun_path[i] = name[i];
  socklen_t addr_len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + len);
  int rc;
  do rc = connect(fd, reinterpret_cast<struct sockaddr*>(&addr), addr_len);
  while (rc != 0 && errno == EINTR);
  // The peer must be the process that sent the signal, running as root or as us.
  struct ucred cred = {};
  socklen_t cred_len = sizeof cred;
  if (rc != 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0 ||
      cred.pid != dumper || (cred.uid != 0 && cred.uid != getuid() && cred.uid != geteuid())) {
    close(fd);
    return -1;
  }
  proto::Hello hello = {};
  hello.magic = proto::kMagic;
  hello.type = proto::kHello;
  hello.version = proto::kVersion;
  hello.pid = sys_getpid();
  hello.lib = kLibKind;
  hello.channel_fd = fd;
  if (!channel_send(fd, &hello, sizeof hello)) {
    close(fd);
    return -1;
  }
  return fd;
}

bool channel_send(int fd, const void* msg, int len) {
  if (fd < 0) return false;
  ssize_t n;
  do n = send(fd, msg, static_cast<size_t>(len), MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == len;
}

int channel_recv(int fd, void* msg, int len) {
  if (fd < 0) return -1;
  ssize_t n;
  do n = recv(fd, msg, static_cast<size_t>(len), 0);
  while (n < 0 && errno == EINTR);
  return n > 0 ? static_cast<int>(n) : -1;
}

}  // namespace crest::libcr
