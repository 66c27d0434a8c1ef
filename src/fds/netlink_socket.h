// FdKind::NetlinkSocket: a netlink socket (NETLINK_ROUTE, NETLINK_KOBJECT_UEVENT,
// NETLINK_GENERIC...), read from a duplicate of the target's socket (pidfd_getfd): its
// type and protocol, the port id it is bound to and the multicast groups it listens to,
// the port and groups it sends to by default (connect), and its SOL_NETLINK options. At
// restart the socket is made again (with its SOL_SOCKET options, socket_options.h) and bound to the same port id (taken by another socket:
// the restart fails naming it) and groups. Messages waiting in its receive queue, and a
// dump still being answered, are refused by name: they are the kernel's answers to a
// request of the old socket, which the new one would never get.
#pragma once

#include <cstdint>
#include <vector>

#include "fds/socket_options.h"

namespace crest {

struct NetlinkSocketRecord {
  uint32_t type = 0;      // SOCK_RAW or SOCK_DGRAM
  uint32_t protocol = 0;  // NETLINK_ROUTE, NETLINK_KOBJECT_UEVENT...
  uint32_t port_id = 0;   // bound nl_pid, 0 if never bound
  std::vector<uint32_t> groups;  // NETLINK_LIST_MEMBERSHIPS: bit g-1 of the words for group g
  uint32_t dst_port_id = 0, dst_group = 0;  // connect()ed destination, 0 if none
  // SOL_NETLINK options, 0 or 1.
  uint8_t pktinfo = 0, broadcast_error = 0, no_enobufs = 0, listen_all_nsid = 0, cap_ack = 0, ext_ack = 0,
          strict_check = 0;
  SocketOptions options;  // SOL_SOCKET options
  template <class V> void fields(V& v) {
    v.field("type", type); v.field("protocol", protocol); v.field("port_id", port_id); v.field("groups", groups);
    v.field("dst_port_id", dst_port_id); v.field("dst_group", dst_group);
    v.field("pktinfo", pktinfo); v.field("broadcast_error", broadcast_error); v.field("no_enobufs", no_enobufs);
    v.field("listen_all_nsid", listen_all_nsid); v.field("cap_ack", cap_ack); v.field("ext_ack", ext_ack);
    v.field("strict_check", strict_check); v.field("options", options);
  }
};

}  // namespace crest
