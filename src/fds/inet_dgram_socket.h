// FdKind::InetDgramSocket: an IPv4 or IPv6 socket without a stream: UDP and UDP-Lite,
// ICMP "ping" sockets (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6: ordinary users within
// net.ipv4.ping_group_range) and raw sockets (SOCK_RAW: CAP_NET_RAW). At restart a new
// socket is made with the same family, type and protocol, its generic, IP-level and
// protocol options, bound to the same address and port (a ping socket's port is its ICMP
// id) and connected to the same peer. Refused by name: datagrams queued for reading
// (they could not be sent again from their senders' addresses), a corked socket with
// data pending (UDP_CORK/MSG_MORE), O_ASYNC.
#pragma once

#include <cstdint>

#include "fds/inet_socket.h"
#include "fds/socket_options.h"

namespace crest {

struct InetDgramSocketRecord {
  uint32_t family = 0;    // AF_INET, AF_INET6
  uint32_t type = 0;      // SOCK_DGRAM, SOCK_RAW
  uint32_t protocol = 0;  // IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_ICMP, IPPROTO_ICMPV6, a raw protocol
  InetAddress local;      // wildcard:0 if not bound
  InetAddress peer;       // family 0 if not connected
  SocketOptions socket;
  InetOptions inet;
  int32_t udp_cork = 0;     // UDP_CORK
  int32_t udp_segment = 0;  // UDP_SEGMENT (GSO size)
  int32_t udp_gro = 0;      // UDP_GRO
  uint32_t icmp_filter = 0;  // ICMP_FILTER of a raw IPv4 ICMP socket
  template <class V> void fields(V& v) {
    v.field("family", family); v.field("type", type); v.field("protocol", protocol); v.field("local", local);
    v.field("peer", peer); v.field("socket", socket); v.field("inet", inet); v.field("udp_cork", udp_cork);
    v.field("udp_segment", udp_segment); v.field("udp_gro", udp_gro); v.field("icmp_filter", icmp_filter);
  }
};

}  // namespace crest
