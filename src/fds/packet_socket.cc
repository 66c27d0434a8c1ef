// Packet sockets (packet_socket.h).
#include "fds/packet_socket.h"

#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/packet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "fds/fd_kind.h"
#include "sys/io.h"

namespace crest {

namespace {

bool detect_packet(const FdFacts& f) {
  if (!S_ISSOCK(f.st.st_mode)) return false;
  auto dup = dup_target_fd(f.pid, f.fd);
  if (!dup) return false;
  int domain = -1;
  socklen_t len = sizeof domain;
  return getsockopt(dup->get(), SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_PACKET;
}

// The PACKET_* options read and set as one int each.
struct PacketOption {
  int name;
  uint32_t PacketSocketRecord::*field;
  const char* text;
};
constexpr PacketOption kOptions[] = {
    {PACKET_VERSION, &PacketSocketRecord::version, "PACKET_VERSION"},
    {PACKET_RESERVE, &PacketSocketRecord::reserve, "PACKET_RESERVE"},
    {PACKET_AUXDATA, &PacketSocketRecord::auxdata, "PACKET_AUXDATA"},
    {PACKET_ORIGDEV, &PacketSocketRecord::origdev, "PACKET_ORIGDEV"},
    {PACKET_VNET_HDR, &PacketSocketRecord::vnet_hdr, "PACKET_VNET_HDR"},
    {PACKET_LOSS, &PacketSocketRecord::loss, "PACKET_LOSS"},
    {PACKET_TIMESTAMP, &PacketSocketRecord::timestamp, "PACKET_TIMESTAMP"},
    {PACKET_QDISC_BYPASS, &PacketSocketRecord::qdisc_bypass, "PACKET_QDISC_BYPASS"},
    {PACKET_IGNORE_OUTGOING, &PacketSocketRecord::ignore_outgoing, "PACKET_IGNORE_OUTGOING"},
};

// What PACKET_DIAG tells of the socket with this inode: copy threshold, memberships,
// whether a ring is set up.
struct PacketDiag {
  bool found = false, ring = false;
  uint32_t copy_thresh = 0;
  std::vector<packet_diag_mclist> memberships;
};

Result<PacketDiag> read_packet_diag(uint64_t inode) {
  Fd nl(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!nl.valid()) return Error::os("socket(NETLINK_SOCK_DIAG)");
  struct {
    nlmsghdr nlh;
    packet_diag_req req;
  } request{};
  request.nlh.nlmsg_len = sizeof request;
  request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.req.sdiag_family = AF_PACKET;
  request.req.pdiag_show = PACKET_SHOW_INFO | PACKET_SHOW_MCLIST | PACKET_SHOW_RING_CFG;
  if (send(nl.get(), &request, sizeof request, 0) < 0) return Error::os("sending the packet socket query");
  PacketDiag out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = recv(nl.get(), buf.data(), buf.size(), 0);
    if (n < 0) return Error::os("reading packet socket diagnostics");
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) return out;
      if (h->nlmsg_type == NLMSG_ERROR) return Error::os("packet socket diagnostics refused", EPERM);
      auto* msg = static_cast<packet_diag_msg*>(NLMSG_DATA(h));
      if (msg->pdiag_ino != inode) continue;
      out.found = true;
      int len = h->nlmsg_len - NLMSG_LENGTH(sizeof *msg);
      for (rtattr* a = reinterpret_cast<rtattr*>(msg + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == PACKET_DIAG_INFO && RTA_PAYLOAD(a) >= sizeof(packet_diag_info))
          out.copy_thresh = static_cast<packet_diag_info*>(RTA_DATA(a))->pdi_copy_thresh;
        else if (a->rta_type == PACKET_DIAG_RX_RING || a->rta_type == PACKET_DIAG_TX_RING)
          out.ring = true;
        else if (a->rta_type == PACKET_DIAG_MCLIST) {
          auto* m = static_cast<packet_diag_mclist*>(RTA_DATA(a));
          out.memberships.assign(m, m + RTA_PAYLOAD(a) / sizeof *m);
        }
      }
    }
  }
}

std::string interface_name(uint32_t index) {
  char name[IF_NAMESIZE] = {};
  return index && if_indextoname(index, name) ? name : "";
}

Result<void> dump_packet(const FdFacts& f, FdRecord& rec) {
  auto named = [&](Error e) { return e.context(format("process %d, fd %d (%s)", f.pid, f.fd, f.target.c_str())); };
  Fd sock = CR_TRY(dup_target_fd(f.pid, f.fd));
  const int s = sock.get();
  PacketSocketRecord p;
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(s, SOL_SOCKET, SO_TYPE, &value, &len) != 0) return Error::os("SO_TYPE");
  p.type = value;
  sockaddr_ll addr{};
  len = sizeof addr;
  if (getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return Error::os("getsockname");
  p.protocol = addr.sll_protocol;
  if (addr.sll_ifindex) {
    p.ifname = interface_name(addr.sll_ifindex);
    if (p.ifname.empty()) return named(Error::unsupported(format("bound to interface %d, which has no name", addr.sll_ifindex)));
  }
  for (const PacketOption& o : kOptions) {
    value = 0;
    len = sizeof value;
    if (getsockopt(s, SOL_PACKET, o.name, &value, &len) != 0) return Error::os(format("getsockopt(%s)", o.text));
    p.*o.field = value;
  }
  len = sizeof value;
  if (getsockopt(s, SOL_PACKET, PACKET_FANOUT, &value, &len) != 0) return Error::os("getsockopt(PACKET_FANOUT)");
  p.fanout = value;
  const uint32_t fanout_type = (p.fanout >> 16) & 0xff;
  if (p.fanout && (fanout_type == PACKET_FANOUT_CBPF || fanout_type == PACKET_FANOUT_EBPF))
    return named(Error::unsupported("a packet fanout group steered by a BPF program"));
  PacketDiag diag = CR_TRY(read_packet_diag(f.st.st_ino));
  if (!diag.found) return named(Error::unsupported("packet socket not listed by PACKET_DIAG"));
  if (diag.ring) return named(Error::unsupported("a packet socket with a mapped ring (PACKET_RX_RING/PACKET_TX_RING)"));
  p.copy_thresh = diag.copy_thresh;
  for (const packet_diag_mclist& m : diag.memberships) {
    PacketMembershipRecord r;
    r.ifindex = m.pdmc_index;
    r.ifname = interface_name(m.pdmc_index);
    r.count = m.pdmc_count;
    r.type = m.pdmc_type;
    r.address.assign(m.pdmc_addr, m.pdmc_addr + std::min<size_t>(m.pdmc_alen, sizeof m.pdmc_addr));
    p.memberships.push_back(std::move(r));
  }
  char byte;
  ssize_t queued = recv(s, &byte, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
  if (queued >= 0) return named(Error::unsupported(format("packets queued, not yet read (the first of %zd bytes)", queued)));
  auto options = read_socket_options(s);
  if (!options) return named(options.error());
  p.options = *options;
  set_payload(rec, FdKind::PacketSocket, p);
  return {};
}

Result<int> interface_index(const std::string& name, int fd) {
  unsigned index = if_nametoindex(name.c_str());
  if (!index) return Error::os(format("fd %d: packet socket's interface %s", fd, name.c_str()));
  return static_cast<int>(index);
}

Result<Fd> open_packet(FdOpenContext&, const FdRecord& rec) {
  PacketSocketRecord p = CR_TRY(payload_of<PacketSocketRecord>(rec));
  Fd sock(socket(AF_PACKET, static_cast<int>(p.type) | SOCK_CLOEXEC, p.protocol));
  if (!sock.valid()) return Error::os(format("fd %d: making a packet socket", rec.fd));
  const int s = sock.get();
  for (const PacketOption& o : kOptions) {
    int value = static_cast<int>(p.*o.field);
    int now = 0;
    socklen_t len = sizeof now;
    if (getsockopt(s, SOL_PACKET, o.name, &now, &len) == 0 && now == value) continue;
    if (setsockopt(s, SOL_PACKET, o.name, &value, sizeof value) != 0)
      return Error::os(format("fd %d: setting %s to %d", rec.fd, o.text, value));
  }
  int thresh = static_cast<int>(p.copy_thresh);
  if (thresh && setsockopt(s, SOL_PACKET, PACKET_COPY_THRESH, &thresh, sizeof thresh) != 0)
    return Error::os(format("fd %d: setting PACKET_COPY_THRESH", rec.fd));
  CR_TRY(apply_socket_options(s, p.options), "fd %d", rec.fd);
  if (!p.ifname.empty()) {
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = p.protocol;
    addr.sll_ifindex = CR_TRY(interface_index(p.ifname, rec.fd));
    if (bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return Error::os(format("fd %d: binding a packet socket to %s", rec.fd, p.ifname.c_str()));
  }
  for (const PacketMembershipRecord& m : p.memberships) {
    packet_mreq mreq{};
    mreq.mr_ifindex = CR_TRY(interface_index(m.ifname, rec.fd));
    mreq.mr_type = m.type;
    mreq.mr_alen = std::min<size_t>(m.address.size(), sizeof mreq.mr_address);
    memcpy(mreq.mr_address, m.address.data(), mreq.mr_alen);
    for (uint32_t i = 0; i < m.count; ++i)
      if (setsockopt(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0)
        return Error::os(format("fd %d: packet membership of type %u on %s", rec.fd, m.type, m.ifname.c_str()));
  }
  if (p.fanout) {
    int fanout = static_cast<int>(p.fanout);
    if (setsockopt(s, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof fanout) != 0)
      return Error::os(format("fd %d: joining packet fanout group %u", rec.fd, p.fanout & 0xffff));
  }
  if ((rec.flags & O_NONBLOCK) && fcntl(s, F_SETFL, O_NONBLOCK) != 0) return Error::os("O_NONBLOCK");
  return sock;
}

}  // namespace

const FdKindOps kPacketSocketKind{
    .kind = FdKind::PacketSocket,
    .name = "packet socket",
    .detect = detect_packet,
    .dump = dump_packet,
    .open = open_packet,
    .print = print_payload<PacketSocketRecord>,
};

}  // namespace crest
