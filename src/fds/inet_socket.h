// What IPv4 and IPv6 sockets of every protocol share (tcp_socket, inet_dgram_socket):
// an address record, the IP/IPv6-level options, recognising an inet socket, and making a
// new one at restart. Options are read from a duplicate of the target's socket
// (pidfd_getfd); nothing is injected.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace crest {

struct FdFacts;

// An IPv4 or IPv6 address and port, as getsockname/getpeername give it.
struct InetAddress {
  uint32_t family = 0;         // AF_INET, AF_INET6; 0: none (unbound, unconnected)
  std::vector<uint8_t> bytes;  // 4 or 16 bytes, network order
  uint32_t port = 0;           // host order
  uint32_t flowinfo = 0;       // IPv6
  uint32_t scope_id = 0;       // IPv6 link-local
  template <class V> void fields(V& v) {
    v.field("family", family); v.field("bytes", bytes); v.field("port", port); v.field("flowinfo", flowinfo);
    v.field("scope_id", scope_id);
  }
  bool any() const;  // the wildcard address with port 0: nothing was bound
  std::string text() const;  // "127.0.0.1:8080", "[::1]:8080"
  sockaddr_storage sockaddr(socklen_t& len) const;
};

// The IP-level options (IPPROTO_IP for both families, IPPROTO_IPV6 for IPv6 sockets).
struct InetOptions {
  int32_t tos = 0;                // IP_TOS
  int32_t ttl = 64;               // IP_TTL (as read: the route's default if never set)
  int32_t freebind = 0;           // IP_FREEBIND
  int32_t transparent = 0;        // IP_TRANSPARENT (needs CAP_NET_ADMIN)
  int32_t bind_address_no_port = 0;  // IP_BIND_ADDRESS_NO_PORT
  int32_t recverr = 0;            // IP_RECVERR
  int32_t pktinfo = 0;            // IP_PKTINFO
  int32_t recvtos = 0;            // IP_RECVTOS
  int32_t recvttl = 0;            // IP_RECVTTL
  int32_t mtu_discover = 0;       // IP_MTU_DISCOVER
  int32_t multicast_ttl = 1;      // IP_MULTICAST_TTL
  int32_t multicast_loop = 1;     // IP_MULTICAST_LOOP
  int32_t hdrincl = 0;            // IP_HDRINCL (raw sockets)
  int32_t v6only = 0;             // IPV6_V6ONLY
  int32_t unicast_hops = 64;      // IPV6_UNICAST_HOPS
  int32_t tclass = 0;             // IPV6_TCLASS
  int32_t recvpktinfo = 0;        // IPV6_RECVPKTINFO
  int32_t ipv6_recverr = 0;       // IPV6_RECVERR
  int32_t ipv6_mtu_discover = 0;  // IPV6_MTU_DISCOVER
  int32_t multicast_hops = 1;     // IPV6_MULTICAST_HOPS
  int32_t ipv6_multicast_loop = 1;  // IPV6_MULTICAST_LOOP
  template <class V> void fields(V& v) {
    v.field("tos", tos); v.field("ttl", ttl); v.field("freebind", freebind); v.field("transparent", transparent);
    v.field("bind_address_no_port", bind_address_no_port); v.field("recverr", recverr); v.field("pktinfo", pktinfo);
    v.field("recvtos", recvtos); v.field("recvttl", recvttl); v.field("mtu_discover", mtu_discover);
    v.field("multicast_ttl", multicast_ttl); v.field("multicast_loop", multicast_loop); v.field("hdrincl", hdrincl);
    v.field("v6only", v6only); v.field("unicast_hops", unicast_hops); v.field("tclass", tclass);
    v.field("recvpktinfo", recvpktinfo); v.field("ipv6_recverr", ipv6_recverr);
    v.field("ipv6_mtu_discover", ipv6_mtu_discover); v.field("multicast_hops", multicast_hops);
    v.field("ipv6_multicast_loop", ipv6_multicast_loop);
  }
};

// What identifies an inet socket: SO_DOMAIN, SO_TYPE, SO_PROTOCOL.
struct InetIdentity {
  int domain = 0, type = 0, protocol = 0;
};
// The identity of a target's socket fd (through a duplicate), or domain 0 if it is not
// an inet socket (or cannot be looked at).
InetIdentity inet_identity(const FdFacts& f);

Result<InetAddress> local_address(int sock);
// The peer, or an empty address (family 0) if not connected.
Result<InetAddress> peer_address(int sock);

Result<InetOptions> read_inet_options(int sock, int family);
// Sets what differs from the socket's current value; a refused option is named.
Result<void> apply_inet_options(int sock, int family, const InetOptions& saved);

// Binds `sock` to `addr` at restart with SO_REUSEADDR on (the old process's connections
// may linger in TIME_WAIT on that port; a listener shares its port with the connections
// it accepted): the caller sets the saved value back once bound (a listener: once
// listening); a port another socket listens on is still refused (EADDRINUSE), named.
Result<void> bind_again(int sock, const InetAddress& addr);

// An int option at `level`, or `fallback` where this socket has no such option.
Result<int32_t> get_int_option(int sock, int level, int opt, const char* name, int32_t fallback);
Result<void> set_int_option(int sock, int level, int opt, const char* name, int32_t value);

}  // namespace crest
