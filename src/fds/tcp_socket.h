// FdKind::TcpSocket: an IPv4 or IPv6 TCP socket that is listening, not connected (bound
// or not), or an established connection whose both ends are in the image (tcp_repair.h:
// root only). At restart a new socket is made with the same family, generic,
// IP-level and TCP options, bound to the same address and port (IPV6_V6ONLY before the
// bind, so a dual-stack listener stays dual-stack) and listening with the same backlog.
// Refused by name: a listener with connections not yet accepted (they cannot be handed
// over: their peers would see a reset), a connection to a peer outside the image, a
// connection in any state but established (half-closed, closing), O_ASYNC.
#pragma once

#include <cstdint>
#include <string>

#include "fds/inet_socket.h"
#include "fds/socket_options.h"
#include "fds/tcp_repair.h"

namespace crest {

// TCP-level options (IPPROTO_TCP).
struct TcpOptions {
  int32_t nodelay = 0;        // TCP_NODELAY
  int32_t cork = 0;           // TCP_CORK
  int32_t keepidle = 0;       // TCP_KEEPIDLE, seconds (as read: the sysctl's if never set)
  int32_t keepintvl = 0;      // TCP_KEEPINTVL
  int32_t keepcnt = 0;        // TCP_KEEPCNT
  int32_t defer_accept = 0;   // TCP_DEFER_ACCEPT, seconds
  int32_t user_timeout = 0;   // TCP_USER_TIMEOUT, milliseconds
  int32_t syncnt = 0;         // TCP_SYNCNT
  int32_t linger2 = 0;        // TCP_LINGER2
  int32_t notsent_lowat = 0;  // TCP_NOTSENT_LOWAT
  int32_t fastopen = 0;       // TCP_FASTOPEN: a listener's queue length
  std::string congestion;     // TCP_CONGESTION
  template <class V> void fields(V& v) {
    v.field("nodelay", nodelay); v.field("cork", cork); v.field("keepidle", keepidle);
    v.field("keepintvl", keepintvl); v.field("keepcnt", keepcnt); v.field("defer_accept", defer_accept);
    v.field("user_timeout", user_timeout); v.field("syncnt", syncnt); v.field("linger2", linger2);
    v.field("notsent_lowat", notsent_lowat); v.field("fastopen", fastopen); v.field("congestion", congestion);
  }
};

struct TcpSocketRecord {
  uint32_t family = 0;   // AF_INET, AF_INET6
  uint32_t state = 0;    // the kernel's: 1 established, 10 listening, 7 closed (never connected)
  uint32_t backlog = 0;  // a listener's
  InetAddress local;     // family 0 or wildcard:0 if not bound
  SocketOptions socket;
  InetOptions inet;
  TcpOptions tcp;
  uint64_t inode = 0;              // the socket's (made once, before any fd is opened)
  TcpConnectionRecord connection;  // an established connection's (state 1)
  template <class V> void fields(V& v) {
    v.field("family", family); v.field("state", state); v.field("backlog", backlog); v.field("local", local);
    v.field("socket", socket); v.field("inet", inet); v.field("tcp", tcp); v.field("inode", inode);
    v.field("connection", connection);
  }
};

}  // namespace crest
