// Established TCP connections (tcp_repair.h).
#include "fds/tcp_repair.h"

#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace crest {

namespace {

TcpRepairScope* g_scope = nullptr;  // the checkpoint's, while it runs (one per process)

Result<void> set_opt(int sock, int opt, int value, const char* name) {
  if (setsockopt(sock, IPPROTO_TCP, opt, &value, sizeof value) != 0) return Error::os(format("setsockopt(%s, %d)", name, value));
  return {};
}

Result<uint32_t> get_u32(int sock, int opt, const char* name) {
  uint32_t v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(sock, IPPROTO_TCP, opt, &v, &len) != 0) return Error::os(format("getsockopt(%s)", name));
  return v;
}

// The bytes of one queue, peeked in repair mode (`bytes` long).
Result<std::vector<uint8_t>> peek_queue(int sock, int queue, size_t bytes, const char* name) {
  std::vector<uint8_t> data(bytes);
  if (!bytes) return data;
  CR_TRY(set_opt(sock, TCP_REPAIR_QUEUE, queue, "TCP_REPAIR_QUEUE"));
  ssize_t n = recv(sock, data.data(), bytes, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) return Error::os(format("peeking at the %s queue", name));
  if (static_cast<size_t>(n) != bytes)
    return Error::unsupported(format("the %s queue holds %zu bytes, %zd could be read", name, bytes, n));
  return data;
}

Result<void> fill_queue(int sock, int queue, const std::vector<uint8_t>& data, const char* name) {
  CR_TRY(set_opt(sock, TCP_REPAIR_QUEUE, queue, "TCP_REPAIR_QUEUE"));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(sock, data.data() + done, data.size() - done, MSG_DONTWAIT);
    if (n <= 0) return Error::os(format("refilling the %s queue (%zu of %zu bytes)", name, done, data.size()));
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<TcpConnectionRecord> read_connection(int s) {
  TcpConnectionRecord c;
  c.peer = CR_TRY(peer_address(s));
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return Error::os("getsockopt(TCP_INFO)");
  c.options = info.tcpi_options;
  c.snd_wscale = info.tcpi_snd_wscale;
  c.rcv_wscale = info.tcpi_rcv_wscale;
  c.mss = CR_TRY(get_u32(s, TCP_MAXSEG, "TCP_MAXSEG"));
  c.timestamp = CR_TRY(get_u32(s, TCP_TIMESTAMP, "TCP_TIMESTAMP"));
  tcp_repair_window w{};
  len = sizeof w;
  if (getsockopt(s, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len) != 0) return Error::os("getsockopt(TCP_REPAIR_WINDOW)");
  c.snd_wl1 = w.snd_wl1, c.snd_wnd = w.snd_wnd, c.max_window = w.max_window, c.rcv_wnd = w.rcv_wnd, c.rcv_wup = w.rcv_wup;
  int outq = 0, inq = 0;
  if (ioctl(s, SIOCOUTQ, &outq) != 0 || ioctl(s, SIOCINQ, &inq) != 0) return Error::os("ioctl(SIOCOUTQ/SIOCINQ)");
  CR_TRY(set_opt(s, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE"));
  c.send_seq = CR_TRY(get_u32(s, TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ"));
  CR_TRY(set_opt(s, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE"));
  c.recv_seq = CR_TRY(get_u32(s, TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ"));
  c.send_queue = CR_TRY(peek_queue(s, TCP_SEND_QUEUE, static_cast<size_t>(outq), "send"));
  c.recv_queue = CR_TRY(peek_queue(s, TCP_RECV_QUEUE, static_cast<size_t>(inq), "receive"));
  CR_TRY(set_opt(s, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, "TCP_REPAIR_QUEUE"));
  return c;
}

}  // namespace

TcpRepairScope::TcpRepairScope(bool outside_peers) : outside_peers_(outside_peers) { g_scope = this; }

bool TcpRepairScope::outside_peers_allowed() { return g_scope && g_scope->outside_peers_; }

void TcpRepairScope::release() {
  for (Fd& s : held_) {
    int off = TCP_REPAIR_OFF_NO_WP;
    setsockopt(s.get(), IPPROTO_TCP, TCP_REPAIR, &off, sizeof off);
  }
  held_.clear();
}

TcpRepairScope::~TcpRepairScope() {
  if (!keep_) release();
  g_scope = nullptr;
}

bool TcpRepairScope::hold(Fd& sock) {
  if (!g_scope) return false;
  g_scope->held_.push_back(std::move(sock));
  return true;
}

Result<TcpConnectionRecord> dump_tcp_connection(Fd sock) {
  int on = TCP_REPAIR_ON;
  if (setsockopt(sock.get(), IPPROTO_TCP, TCP_REPAIR, &on, sizeof on) != 0) {
    if (errno == EPERM) return Error::unsupported("an established TCP connection needs CAP_NET_ADMIN (TCP_REPAIR)");
    return Error::os("setsockopt(TCP_REPAIR)");
  }
  int s = sock.get();
  auto c = read_connection(s);
  if (!TcpRepairScope::hold(sock)) {
    int off = TCP_REPAIR_OFF_NO_WP;
    setsockopt(s, IPPROTO_TCP, TCP_REPAIR, &off, sizeof off);
  }
  return c;
}

Result<void> make_tcp_connection(int s, const InetAddress& local, const TcpConnectionRecord& c) {
  CR_TRY(set_opt(s, TCP_REPAIR, TCP_REPAIR_ON, "TCP_REPAIR"));
  // Room for the queues whatever the saved buffer sizes (the caller sets those after).
  int room = static_cast<int>(std::max(c.send_queue.size(), c.recv_queue.size()) * 2 + (1 << 16));
  if (setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &room, sizeof room) != 0 ||
      setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room) != 0)
    return Error::os("setsockopt(SO_SNDBUFFORCE/SO_RCVBUFFORCE) for the queues");
  // The sequence numbers where the queues start: refilling them moves them on to the
  // saved ones.
  CR_TRY(set_opt(s, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE"));
  CR_TRY(set_opt(s, TCP_QUEUE_SEQ, static_cast<int>(c.send_seq - c.send_queue.size()), "TCP_QUEUE_SEQ"));
  CR_TRY(set_opt(s, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE"));
  CR_TRY(set_opt(s, TCP_QUEUE_SEQ, static_cast<int>(c.recv_seq - c.recv_queue.size()), "TCP_QUEUE_SEQ"));
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len;
  sockaddr_storage ss = local.sockaddr(len);
  if (bind(s, reinterpret_cast<sockaddr*>(&ss), len) != 0) return Error::os(format("binding to %s", local.text().c_str()));
  ss = c.peer.sockaddr(len);
  if (connect(s, reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return Error::os(format("connecting to %s in repair mode", c.peer.text().c_str()));
  std::vector<tcp_repair_opt> opts;
  opts.push_back({TCPOPT_MAXSEG, c.mss});
  if (c.options & TCPI_OPT_WSCALE) opts.push_back({TCPOPT_WINDOW, c.snd_wscale | (c.rcv_wscale << 16)});
  if (c.options & TCPI_OPT_SACK) opts.push_back({TCPOPT_SACK_PERMITTED, 0});
  if (c.options & TCPI_OPT_TIMESTAMPS) opts.push_back({TCPOPT_TIMESTAMP, 0});
  if (setsockopt(s, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts.data(), opts.size() * sizeof opts[0]) != 0)
    return Error::os("setsockopt(TCP_REPAIR_OPTIONS)");
  if (c.options & TCPI_OPT_TIMESTAMPS) CR_TRY(set_opt(s, TCP_TIMESTAMP, static_cast<int>(c.timestamp), "TCP_TIMESTAMP"));
  CR_TRY(fill_queue(s, TCP_RECV_QUEUE, c.recv_queue, "receive"));
  CR_TRY(fill_queue(s, TCP_SEND_QUEUE, c.send_queue, "send"));
  CR_TRY(set_opt(s, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, "TCP_REPAIR_QUEUE"));
  tcp_repair_window w{c.snd_wl1, c.snd_wnd, c.max_window, c.rcv_wnd, c.rcv_wup};
  if (setsockopt(s, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof w) != 0) return Error::os("setsockopt(TCP_REPAIR_WINDOW)");
  return {};
}

Result<void> leave_tcp_repair(int sock) { return set_opt(sock, TCP_REPAIR, TCP_REPAIR_OFF, "TCP_REPAIR"); }

}  // namespace crest
