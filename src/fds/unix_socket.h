// FdKind::UnixSocket: a unix socket whose peer is in the image, or listening, or an
// unconnected (or one-way connected) datagram socket, with what is queued on it (a
// SocketData section). At restart: pairs (socketpair, accepted connections) come back as
// a new pair; bound sockets are bound again (a stale socket file of the old process is
// replaced; a relative name from its directory, a name whose file is gone made gone again,
// the file's owner and mode given back: unix_socket_name.h), listeners listen; one-way datagram connections are made again; queues are
// refilled in order, from the sender when it is in the image (a queue or a message of any
// size: the sender's buffer is raised while refilling); either direction's shutdown is
// made again once the queues are full. File descriptors in flight (SCM_RIGHTS messages
// queued) are refused by name. A socket connected outside
// the image becomes Inherited; any other socket (TCP, UDP, netlink...) above fd 2 is
// refused by name.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "fds/socket_options.h"
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
  uint8_t shutdown = 0;    // the kernel's sk_shutdown: 1 receive side, 2 send side
  // A path name's file (unix_socket_name.h): the directory a relative name is relative to
  // ("" if unknown), whether the socket file was still there, and its mode and owner.
  std::string directory;
  uint8_t file_present = 0;
  uint32_t file_mode = 0, file_uid = 0, file_gid = 0;
  uint64_t pending_on = 0;  // a client not yet accepted: the listener's inode
  SocketOptions options;    // SOL_SOCKET options, set again once the queues are refilled
  template <class V> void fields(V& v) {
    v.field("type", type); v.field("state", state); v.field("inode", inode); v.field("peer", peer);
    v.field("backlog", backlog); v.field("name", name); v.field("shutdown", shutdown);
    v.field("directory", directory); v.field("file_present", file_present); v.field("file_mode", file_mode);
    v.field("file_uid", file_uid); v.field("file_gid", file_gid); v.field("pending_on", pending_on);
    v.field("options", options);
  }
};

// A SocketData section, into image.socket_data.
Result<void> read_socket_data(const Section& s, ProcessImage& image);

}  // namespace crest
