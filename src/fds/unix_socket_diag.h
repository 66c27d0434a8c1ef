// What the kernel tells of unix sockets from outside (NETLINK_SOCK_DIAG), and their
// queued bytes, peeked without consuming them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace crest {

struct UnixSocketInfo {
  int type = 0, state = 0;
  uint32_t peer = 0;          // peer's inode, 0 if none
  std::string name;           // bound name ('\0'-prefixed for the abstract namespace)
  uint32_t rqueue = 0, wqueue = 0;
  size_t pending_connections = 0;
  uint8_t shutdown = 0;       // the kernel's sk_shutdown: 1 receive, 2 send
  uint64_t vfs_ino = 0;       // the socket file a path name was bound to (kernel dev encoding)
  uint32_t vfs_dev = 0;
};
// Every unix socket of this network namespace, by inode.
Result<std::map<uint64_t, UnixSocketInfo>> read_unix_sockets();

// The messages queued for reading on fd of pid (one element for a stream socket), with
// the sender's bound name for datagrams (empty if unnamed). Walked with a peek offset,
// so a queue or a datagram of any size is read whole.
struct QueuedMessage {
  std::vector<uint8_t> bytes;
  std::string sender;
};
// receive_shut: its receive side is shut (then, on a seqpacket socket, messages of 0 bytes
// after the last byte of the queue cannot be told from its end: they are not read).
Result<std::vector<QueuedMessage>> peek_socket_queue(pid_t pid, int fd, int type, bool receive_shut);

}  // namespace crest
