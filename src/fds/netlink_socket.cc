// Netlink sockets (netlink_socket.h).
#include "fds/netlink_socket.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "fds/fd_kind.h"
#include "sys/io.h"

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

namespace crest {

namespace {

int socket_domain(const FdFacts& f) {
  auto dup = dup_target_fd(f.pid, f.fd);
  if (!dup) return -1;
  int domain = -1;
  socklen_t len = sizeof domain;
  if (getsockopt(dup->get(), SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return -1;
  return domain;
}

bool detect_netlink(const FdFacts& f) { return S_ISSOCK(f.st.st_mode) && socket_domain(f) == AF_NETLINK; }

// The SOL_NETLINK options, each with its field.
struct NetlinkOption {
  int name;
  uint8_t NetlinkSocketRecord::*field;
  const char* text;
};
constexpr NetlinkOption kOptions[] = {
    {NETLINK_PKTINFO, &NetlinkSocketRecord::pktinfo, "NETLINK_PKTINFO"},
    {NETLINK_BROADCAST_ERROR, &NetlinkSocketRecord::broadcast_error, "NETLINK_BROADCAST_ERROR"},
    {NETLINK_NO_ENOBUFS, &NetlinkSocketRecord::no_enobufs, "NETLINK_NO_ENOBUFS"},
    {NETLINK_LISTEN_ALL_NSID, &NetlinkSocketRecord::listen_all_nsid, "NETLINK_LISTEN_ALL_NSID"},
    {NETLINK_CAP_ACK, &NetlinkSocketRecord::cap_ack, "NETLINK_CAP_ACK"},
    {NETLINK_EXT_ACK, &NetlinkSocketRecord::ext_ack, "NETLINK_EXT_ACK"},
    {NETLINK_GET_STRICT_CHK, &NetlinkSocketRecord::strict_check, "NETLINK_GET_STRICT_CHK"},
};

// Whether /proc/net/netlink says a dump is being answered on the socket with this inode.
bool dump_running(uint64_t inode) {
  FILE* f = fopen("/proc/net/netlink", "re");
  if (!f) return false;
  char line[512];
  bool running = false;
  while (fgets(line, sizeof line, f)) {
    unsigned long long sk, ino;
    int eth, rmem, wmem, dump, locks, drops;
    unsigned pid, groups;
    if (sscanf(line, "%llx %d %u %x %d %d %d %d %d %llu", &sk, &eth, &pid, &groups, &rmem, &wmem, &dump, &locks, &drops,
               &ino) == 10 &&
        ino == inode)
      running = dump != 0;
  }
  fclose(f);
  return running;
}

Result<void> dump_netlink(const FdFacts& f, FdRecord& rec) {
  Fd sock = CR_TRY(dup_target_fd(f.pid, f.fd));
  const int s = sock.get();
  NetlinkSocketRecord n;
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(s, SOL_SOCKET, SO_TYPE, &value, &len) != 0) return Error::os("SO_TYPE");
  n.type = value;
  len = sizeof value;
  if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &value, &len) != 0) return Error::os("SO_PROTOCOL");
  n.protocol = value;
  sockaddr_nl addr{};
  len = sizeof addr;
  if (getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return Error::os("getsockname");
  n.port_id = addr.nl_pid;
  uint32_t words[64] = {};
  len = sizeof words;
  if (getsockopt(s, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len) != 0) return Error::os("NETLINK_LIST_MEMBERSHIPS");
  if (len > sizeof words)
    return Error::unsupported(format("process %d, fd %d: netlink socket in more than %zu groups", f.pid, f.fd, sizeof words * 8));
  n.groups.assign(words, words + len / sizeof(uint32_t));
  while (!n.groups.empty() && n.groups.back() == 0) n.groups.pop_back();
  sockaddr_nl peer{};
  len = sizeof peer;
  if (getpeername(s, reinterpret_cast<sockaddr*>(&peer), &len) == 0) {
    n.dst_port_id = peer.nl_pid;
    n.dst_group = peer.nl_groups;
  }
  for (const NetlinkOption& o : kOptions) {
    value = 0;
    len = sizeof value;
    if (getsockopt(s, SOL_NETLINK, o.name, &value, &len) == 0) n.*o.field = value != 0;
  }
  char byte;
  ssize_t queued = recv(s, &byte, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
  if (queued >= 0)
    return Error::unsupported(format("process %d, fd %d (%s): netlink messages queued, not yet read (the first of %zd bytes)",
                                     f.pid, f.fd, f.target.c_str(), queued));
  if (dump_running(f.st.st_ino))
    return Error::unsupported(format("process %d, fd %d (%s): a netlink dump is still being answered", f.pid, f.fd,
                                     f.target.c_str()));
  auto options = read_socket_options(s);
  if (!options) return options.error().context(format("process %d, fd %d (%s)", f.pid, f.fd, f.target.c_str()));
  n.options = *options;
  set_payload(rec, FdKind::NetlinkSocket, n);
  return {};
}

Result<Fd> open_netlink(FdOpenContext&, const FdRecord& rec) {
  NetlinkSocketRecord n = CR_TRY(payload_of<NetlinkSocketRecord>(rec));
  Fd sock(socket(AF_NETLINK, static_cast<int>(n.type) | SOCK_CLOEXEC, static_cast<int>(n.protocol)));
  if (!sock.valid()) return Error::os(format("fd %d: making a netlink socket of protocol %u", rec.fd, n.protocol));
  const int s = sock.get();
  for (const NetlinkOption& o : kOptions) {
    int value = n.*o.field;
    if (value && setsockopt(s, SOL_NETLINK, o.name, &value, sizeof value) != 0)
      return Error::os(format("fd %d: setting %s", rec.fd, o.text));
  }
  if (n.port_id) {
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_pid = n.port_id;
    if (bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return Error::os(format("fd %d: binding a netlink socket (protocol %u) to port id %u", rec.fd, n.protocol, n.port_id));
  }
  for (size_t w = 0; w < n.groups.size(); ++w)
    for (int bit = 0; bit < 32; ++bit) {
      if (!(n.groups[w] >> bit & 1)) continue;
      int group = static_cast<int>(w * 32 + bit + 1);
      if (setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0)
        return Error::os(format("fd %d: joining netlink group %d (protocol %u)", rec.fd, group, n.protocol));
    }
  if (n.dst_port_id || n.dst_group) {
    sockaddr_nl dst{};
    dst.nl_family = AF_NETLINK;
    dst.nl_pid = n.dst_port_id;
    dst.nl_groups = n.dst_group;
    if (connect(s, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0)
      return Error::os(format("fd %d: connecting a netlink socket to port %u", rec.fd, n.dst_port_id));
  }
  CR_TRY(apply_socket_options(s, n.options), "fd %d", rec.fd);
  if ((rec.flags & O_NONBLOCK) && fcntl(s, F_SETFL, O_NONBLOCK) != 0) return Error::os("O_NONBLOCK");
  return sock;
}

}  // namespace

const FdKindOps kNetlinkSocketKind{
    .kind = FdKind::NetlinkSocket,
    .name = "netlink socket",
    .detect = detect_netlink,
    .dump = dump_netlink,
    .open = open_netlink,
    .print = print_payload<NetlinkSocketRecord>,
};

}  // namespace crest
