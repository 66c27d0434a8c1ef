// IPv4/IPv6 datagram and raw sockets (inet_dgram_socket.h).
#include "fds/inet_dgram_socket.h"

#include <fcntl.h>
#include <linux/icmp.h>
#include <linux/sockios.h>
#include <linux/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "fds/fd_kind.h"
#include "sys/io.h"

namespace crest {

namespace {

bool is_udp(uint32_t protocol) { return protocol == IPPROTO_UDP || protocol == IPPROTO_UDPLITE; }

bool detect_dgram(const FdFacts& f) {
  InetIdentity id = inet_identity(f);
  return id.domain && (id.type == SOCK_DGRAM || id.type == SOCK_RAW);
}

Result<void> read_protocol_options(int s, InetDgramSocketRecord& r) {
  if (is_udp(r.protocol)) {
    r.udp_cork = CR_TRY(get_int_option(s, IPPROTO_UDP, UDP_CORK, "UDP_CORK", 0));
    r.udp_segment = CR_TRY(get_int_option(s, IPPROTO_UDP, UDP_SEGMENT, "UDP_SEGMENT", 0));
    r.udp_gro = CR_TRY(get_int_option(s, IPPROTO_UDP, UDP_GRO, "UDP_GRO", 0));
  }
  if (r.type == SOCK_RAW && r.family == AF_INET && r.protocol == IPPROTO_ICMP) {
    socklen_t len = sizeof r.icmp_filter;
    if (getsockopt(s, SOL_RAW, ICMP_FILTER, &r.icmp_filter, &len) != 0) return Error::os("getsockopt(ICMP_FILTER)");
  }
  return {};
}

Result<void> dump_dgram(const FdFacts& f, FdRecord& rec) {
  Fd sock = CR_TRY(dup_target_fd(f.pid, f.fd));
  int s = sock.get();
  InetDgramSocketRecord r;
  InetIdentity id = inet_identity(f);
  r.family = static_cast<uint32_t>(id.domain);
  r.type = static_cast<uint32_t>(id.type);
  r.protocol = static_cast<uint32_t>(id.protocol);
  r.local = CR_TRY(local_address(s), "fd %d", f.fd);
  r.peer = CR_TRY(peer_address(s), "fd %d", f.fd);
  std::string what = format("fd %d (%s socket %s)", f.fd, is_udp(r.protocol) ? "UDP" : r.type == SOCK_RAW ? "raw" : "ICMP",
                            r.local.text().c_str());
  char byte;
  ssize_t queued = recv(s, &byte, 0, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
  if (queued >= 0) return Error::unsupported(format("%s: datagrams queued for reading are not restored", what.c_str()));
  int pending = 0;
  if (ioctl(s, SIOCOUTQ, &pending) != 0) pending = 0;
  r.socket = CR_TRY(read_socket_options(s), "%s", what.c_str());
  r.inet = CR_TRY(read_inet_options(s, id.domain), "%s", what.c_str());
  CR_TRY(read_protocol_options(s, r), "%s", what.c_str());
  if (r.udp_cork && pending > 0)
    return Error::unsupported(format("%s: corked with %d bytes not yet sent (UDP_CORK)", what.c_str(), pending));
  if (rec.flags & O_ASYNC) return Error::unsupported(format("%s: O_ASYNC (SIGIO)", what.c_str()));
  set_payload(rec, FdKind::InetDgramSocket, r);
  return {};
}

Result<Fd> open_dgram(FdOpenContext&, const FdRecord& rec) {
  InetDgramSocketRecord r = CR_TRY(payload_of<InetDgramSocketRecord>(rec));
  if (r.family != AF_INET && r.family != AF_INET6)
    return Error::corrupt(format("fd %d: inet socket of family %u", rec.fd, r.family));
  const int family = static_cast<int>(r.family);
  std::string at = format("fd %d (%s)", rec.fd, r.local.text().c_str());
  Fd sock(socket(family, static_cast<int>(r.type) | SOCK_CLOEXEC, static_cast<int>(r.protocol)));
  if (!sock.valid()) {
    if (errno == EPERM || errno == EACCES)
      return Error::unsupported(format("%s: a %s socket of protocol %u needs %s", at.c_str(), r.type == SOCK_RAW ? "raw" : "datagram",
                                       r.protocol, r.type == SOCK_RAW ? "CAP_NET_RAW" : "net.ipv4.ping_group_range"));
    return Error::os(format("%s: socket", at.c_str()));
  }
  int s = sock.get();
  CR_TRY(apply_socket_options(s, r.socket), "%s", at.c_str());
  CR_TRY(apply_inet_options(s, family, r.inet), "%s", at.c_str());
  if (is_udp(r.protocol)) {
    if (r.udp_segment) CR_TRY(set_int_option(s, IPPROTO_UDP, UDP_SEGMENT, "UDP_SEGMENT", r.udp_segment), "%s", at.c_str());
    if (r.udp_gro) CR_TRY(set_int_option(s, IPPROTO_UDP, UDP_GRO, "UDP_GRO", r.udp_gro), "%s", at.c_str());
  }
  if (r.icmp_filter && setsockopt(s, SOL_RAW, ICMP_FILTER, &r.icmp_filter, sizeof r.icmp_filter) != 0)
    return Error::os(format("%s: setsockopt(ICMP_FILTER)", at.c_str()));
  InetAddress local = r.local;
  if (r.type == SOCK_RAW) local.port = 0;  // a raw socket's "port" is its protocol
  if (!local.any()) {
    CR_TRY(bind_again(s, local), "%s", at.c_str());
    CR_TRY(set_int_option(s, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", r.socket.reuseaddr), "%s", at.c_str());
  }
  if (r.peer.family) {
    socklen_t len;
    sockaddr_storage ss = r.peer.sockaddr(len);
    if (connect(s, reinterpret_cast<sockaddr*>(&ss), len) != 0)
      return Error::os(format("%s: connecting to %s", at.c_str(), r.peer.text().c_str()));
  }
  if (r.udp_cork) CR_TRY(set_int_option(s, IPPROTO_UDP, UDP_CORK, "UDP_CORK", 1), "%s", at.c_str());
  if ((rec.flags & O_NONBLOCK) && fcntl(s, F_SETFL, O_NONBLOCK) != 0) return Error::os("fcntl(F_SETFL)");
  return sock;
}

}  // namespace

const FdKindOps kInetDgramSocketKind{
    .kind = FdKind::InetDgramSocket,
    .name = "inet datagram socket",
    .detect = detect_dgram,
    .dump = dump_dgram,
    .open = open_dgram,
    .print = print_payload<InetDgramSocketRecord>,
};

}  // namespace crest
