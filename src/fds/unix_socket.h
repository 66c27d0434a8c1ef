// FdKind::UnixSocket: a unix socket whose peer is in the image, or listening, or an
// unconnected (or one-way connected) datagram socket, with what is queued on it (a
// SocketData section). At restart: pairs (socketpair, accepted connections) come back as
// a new pair; bound sockets are bound again (a stale socket file of the old process is
// replaced), listeners listen; one-way datagram connections are made again; queues are
// refilled in order, from the sender when it is in the image. A socket connected outside
// the image becomes Inherited; any other socket (TCP, UDP, netlink...) above fd 2 is
// refused by name.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "image/image_reader.h"

namespace crest {

struct ProcessImage;

struct UnixSocketRecord {
  uint32_t type = 0;       // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
  uint32_t state = 0;      // the kernel's: 1 established, 7 close, 10 listening
  uint64_t inode = 0;
  uint64_t peer = 0;       // the peer's inode, 0 if none
  uint32_t backlog = 0;    // a listener's (the kernel's wqueue)
  std::string name;        // bound name: a path, or '\0' first for the abstract namespace
  template <class V> void fields(V& v) {
    v.field("type", type); v.field("state", state); v.field("inode", inode); v.field("peer", peer);
    v.field("backlog", backlog); v.field("name", name);
  }
};

// A SocketData section, into image.socket_data.
Result<void> read_socket_data(const Section& s, ProcessImage& image);

}  // namespace crest
