// What inet sockets share (inet_socket.h).
#include "fds/inet_socket.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "fds/fd_kind.h"
#include "sys/io.h"

namespace crest {

namespace {

struct IntOption {
  const char* name;
  int level, opt;
  int32_t InetOptions::*member;
  bool ipv6_only;  // an IPPROTO_IPV6 option: IPv6 sockets only
};

// Multicast options: a TCP socket has none it could set (an accepted one reads the
// peer's TTL as its IP_MULTICAST_TTL).
bool multicast(int opt, int level) {
  if (level == IPPROTO_IP) return opt == IP_MULTICAST_TTL || opt == IP_MULTICAST_LOOP;
  return opt == IPV6_MULTICAST_HOPS || opt == IPV6_MULTICAST_LOOP;
}

// Whether `opt` is one `sock` has.
bool applies(const IntOption& opt, int sock, int family) {
  if (opt.ipv6_only && family != AF_INET6) return false;
  int type = 0;
  socklen_t len = sizeof type;
  getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len);
  return !(type == SOCK_STREAM && multicast(opt.opt, opt.level));
}

// IPv4-level options apply to IPv6 sockets too (a dual-stack socket's v4 traffic).
constexpr IntOption kIntOptions[] = {
    {"IP_TOS", IPPROTO_IP, IP_TOS, &InetOptions::tos, false},
    {"IP_TTL", IPPROTO_IP, IP_TTL, &InetOptions::ttl, false},
    {"IP_FREEBIND", IPPROTO_IP, IP_FREEBIND, &InetOptions::freebind, false},
    {"IP_TRANSPARENT", IPPROTO_IP, IP_TRANSPARENT, &InetOptions::transparent, false},
    {"IP_BIND_ADDRESS_NO_PORT", IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &InetOptions::bind_address_no_port, false},
    {"IP_RECVERR", IPPROTO_IP, IP_RECVERR, &InetOptions::recverr, false},
    {"IP_PKTINFO", IPPROTO_IP, IP_PKTINFO, &InetOptions::pktinfo, false},
    {"IP_RECVTOS", IPPROTO_IP, IP_RECVTOS, &InetOptions::recvtos, false},
    {"IP_RECVTTL", IPPROTO_IP, IP_RECVTTL, &InetOptions::recvttl, false},
    {"IP_MTU_DISCOVER", IPPROTO_IP, IP_MTU_DISCOVER, &InetOptions::mtu_discover, false},
    {"IP_MULTICAST_TTL", IPPROTO_IP, IP_MULTICAST_TTL, &InetOptions::multicast_ttl, false},
    {"IP_MULTICAST_LOOP", IPPROTO_IP, IP_MULTICAST_LOOP, &InetOptions::multicast_loop, false},
    {"IP_HDRINCL", IPPROTO_IP, IP_HDRINCL, &InetOptions::hdrincl, false},
    {"IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, &InetOptions::v6only, true},
    {"IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, &InetOptions::unicast_hops, true},
    {"IPV6_TCLASS", IPPROTO_IPV6, IPV6_TCLASS, &InetOptions::tclass, true},
    {"IPV6_RECVPKTINFO", IPPROTO_IPV6, IPV6_RECVPKTINFO, &InetOptions::recvpktinfo, true},
    {"IPV6_RECVERR", IPPROTO_IPV6, IPV6_RECVERR, &InetOptions::ipv6_recverr, true},
    {"IPV6_MTU_DISCOVER", IPPROTO_IPV6, IPV6_MTU_DISCOVER, &InetOptions::ipv6_mtu_discover, true},
    {"IPV6_MULTICAST_HOPS", IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &InetOptions::multicast_hops, true},
    {"IPV6_MULTICAST_LOOP", IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &InetOptions::ipv6_multicast_loop, true},
};

bool absent(int err) { return err == ENOPROTOOPT || err == EOPNOTSUPP || err == EINVAL; }

InetAddress from_sockaddr(const sockaddr_storage& ss) {
  InetAddress a;
  if (ss.ss_family == AF_INET) {
    auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    a.family = AF_INET;
    auto* p = reinterpret_cast<const uint8_t*>(&in.sin_addr);
    a.bytes.assign(p, p + 4);
    a.port = ntohs(in.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    a.family = AF_INET6;
    auto* p = reinterpret_cast<const uint8_t*>(&in6.sin6_addr);
    a.bytes.assign(p, p + 16);
    a.port = ntohs(in6.sin6_port);
    a.flowinfo = in6.sin6_flowinfo;
    a.scope_id = in6.sin6_scope_id;
  }
  return a;
}

int get_int(int sock, int level, int opt, int* out) {
  socklen_t len = sizeof *out;
  return getsockopt(sock, level, opt, out, &len);
}

}  // namespace

bool InetAddress::any() const {
  if (port != 0) return false;
  for (uint8_t b : bytes)
    if (b) return false;
  return true;
}

std::string InetAddress::text() const {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (family == 0) return "(none)";
  if (bytes.size() == (family == AF_INET ? 4u : 16u)) inet_ntop(static_cast<int>(family), bytes.data(), buf, sizeof buf);
  return family == AF_INET6 ? format("[%s]:%u", buf, port) : format("%s:%u", buf, port);
}

sockaddr_storage InetAddress::sockaddr(socklen_t& len) const {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto& in = reinterpret_cast<sockaddr_in&>(ss);
    in.sin_family = AF_INET;
    memcpy(&in.sin_addr, bytes.data(), std::min<size_t>(bytes.size(), 4));
    in.sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof in;
  } else {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(ss);
    in6.sin6_family = AF_INET6;
    memcpy(&in6.sin6_addr, bytes.data(), std::min<size_t>(bytes.size(), 16));
    in6.sin6_port = htons(static_cast<uint16_t>(port));
    in6.sin6_flowinfo = flowinfo;
    in6.sin6_scope_id = scope_id;
    len = sizeof in6;
  }
  return ss;
}

InetIdentity inet_identity(const FdFacts& f) {
  InetIdentity id;
  if (!S_ISSOCK(f.st.st_mode)) return id;
  auto dup = dup_target_fd(f.pid, f.fd);
  if (!dup) return id;
  int domain = 0;
  if (get_int(dup->get(), SOL_SOCKET, SO_DOMAIN, &domain) != 0 || (domain != AF_INET && domain != AF_INET6)) return id;
  if (get_int(dup->get(), SOL_SOCKET, SO_TYPE, &id.type) != 0 ||
      get_int(dup->get(), SOL_SOCKET, SO_PROTOCOL, &id.protocol) != 0)
    return id;
  id.domain = domain;
  return id;
}

Result<InetAddress> local_address(int sock) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(sock, reinterpret_cast<::sockaddr*>(&ss), &len) != 0) return Error::os("getsockname");
  return from_sockaddr(ss);
}

Result<InetAddress> peer_address(int sock) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(sock, reinterpret_cast<::sockaddr*>(&ss), &len) != 0) {
    if (errno == ENOTCONN) return InetAddress{};
    return Error::os("getpeername");
  }
  return from_sockaddr(ss);
}

Result<int32_t> get_int_option(int sock, int level, int opt, const char* name, int32_t fallback) {
  int value = 0;
  if (get_int(sock, level, opt, &value) == 0) return value;
  if (absent(errno)) return fallback;
  return Error::os(format("getsockopt(%s)", name));
}

Result<void> set_int_option(int sock, int level, int opt, const char* name, int32_t value) {
  if (setsockopt(sock, level, opt, &value, sizeof value) == 0) return {};
  if (errno == EPERM || errno == EACCES)
    return Error::unsupported(format("socket option %s = %d needs CAP_NET_ADMIN", name, value));
  return Error::os(format("setsockopt(%s, %d)", name, value));
}

Result<InetOptions> read_inet_options(int sock, int family) {
  InetOptions o;
  for (const IntOption& opt : kIntOptions) {
    if (!applies(opt, sock, family)) continue;
    o.*opt.member = CR_TRY(get_int_option(sock, opt.level, opt.opt, opt.name, o.*opt.member));
  }
  return o;
}

Result<void> apply_inet_options(int sock, int family, const InetOptions& saved) {
  InetOptions now = CR_TRY(read_inet_options(sock, family));
  for (const IntOption& opt : kIntOptions) {
    if (!applies(opt, sock, family)) continue;
    if (saved.*opt.member == now.*opt.member) continue;
    CR_TRY(set_int_option(sock, opt.level, opt.opt, opt.name, saved.*opt.member));
  }
  return {};
}

Result<void> bind_again(int sock, const InetAddress& addr) {
  CR_TRY(set_int_option(sock, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1));
  socklen_t len;
  sockaddr_storage ss = addr.sockaddr(len);
  if (bind(sock, reinterpret_cast<::sockaddr*>(&ss), len) != 0) return Error::os(format("binding to %s", addr.text().c_str()));
  return {};
}

}  // namespace crest
