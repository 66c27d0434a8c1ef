// FdKind::PacketSocket: an AF_PACKET socket (root: CAP_NET_RAW), read from a duplicate
// of the target's socket (pidfd_getfd) and sock_diag (PACKET_DIAG): its type, protocol,
// the interface it is bound to (by name: the index may differ at restart), its
// PACKET_* options, link-layer memberships (PACKET_ADD_MEMBERSHIP) and fanout group, and
// the SOL_SOCKET options. Made again at restart in that order (bound before it joins its
// fanout group). Refused by name: a mapped ring (PACKET_RX_RING/TX_RING), packets queued
// and not yet read (frames from the network, which cannot be put back), a fanout group
// steered by a BPF program.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fds/socket_options.h"

namespace crest {

struct PacketMembershipRecord {
  uint32_t ifindex = 0;
  std::string ifname;     // the interface's name at checkpoint (its index is looked up again)
  uint32_t count = 0;     // how many times it was added
  uint16_t type = 0;      // PACKET_MR_MULTICAST, PROMISC, ALLMULTI, UNICAST
  std::vector<uint8_t> address;
  template <class V> void fields(V& v) {
    v.field("ifindex", ifindex); v.field("ifname", ifname); v.field("count", count); v.field("type", type);
    v.field("address", address);
  }
};

struct PacketSocketRecord {
  uint32_t type = 0;      // SOCK_RAW or SOCK_DGRAM
  uint16_t protocol = 0;  // the ethertype it receives, network byte order (0: none)
  std::string ifname;     // bound interface, "" for every interface
  // PACKET_* options.
  uint32_t version = 0, reserve = 0, auxdata = 0, origdev = 0, vnet_hdr = 0, loss = 0, timestamp = 0,
           qdisc_bypass = 0, ignore_outgoing = 0, copy_thresh = 0;
  uint32_t fanout = 0;    // PACKET_FANOUT as read: group id | (type and flags) << 16; 0 if none
  std::vector<PacketMembershipRecord> memberships;
  SocketOptions options;
  template <class V> void fields(V& v) {
    v.field("type", type); v.field("protocol", protocol); v.field("ifname", ifname);
    v.field("version", version); v.field("reserve", reserve); v.field("auxdata", auxdata);
    v.field("origdev", origdev); v.field("vnet_hdr", vnet_hdr); v.field("loss", loss);
    v.field("timestamp", timestamp); v.field("qdisc_bypass", qdisc_bypass);
    v.field("ignore_outgoing", ignore_outgoing); v.field("copy_thresh", copy_thresh); v.field("fanout", fanout);
    v.field("memberships", memberships); v.field("options", options);
  }
};

}  // namespace crest
