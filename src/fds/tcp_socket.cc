// TCP sockets (tcp_socket.h).
#include "fds/tcp_socket.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>
#include <set>

#include "fds/fd_kind.h"
#include "fds/fd_table.h"
#include "fds/skipped.h"
#include "restore/restore_context.h"
#include "restore/restorer.h"
#include "sys/io.h"

namespace crest {

namespace {

constexpr uint32_t kListen = TCP_LISTEN, kClose = TCP_CLOSE, kEstablished = TCP_ESTABLISHED;

struct IntOption {
  const char* name;
  int opt;
  int32_t TcpOptions::*member;
};

constexpr IntOption kIntOptions[] = {
    {"TCP_NODELAY", TCP_NODELAY, &TcpOptions::nodelay},
    {"TCP_CORK", TCP_CORK, &TcpOptions::cork},
    {"TCP_KEEPIDLE", TCP_KEEPIDLE, &TcpOptions::keepidle},
    {"TCP_KEEPINTVL", TCP_KEEPINTVL, &TcpOptions::keepintvl},
    {"TCP_KEEPCNT", TCP_KEEPCNT, &TcpOptions::keepcnt},
    {"TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT, &TcpOptions::defer_accept},
    {"TCP_USER_TIMEOUT", TCP_USER_TIMEOUT, &TcpOptions::user_timeout},
    {"TCP_SYNCNT", TCP_SYNCNT, &TcpOptions::syncnt},
    {"TCP_LINGER2", TCP_LINGER2, &TcpOptions::linger2},
    {"TCP_NOTSENT_LOWAT", TCP_NOTSENT_LOWAT, &TcpOptions::notsent_lowat},
    {"TCP_FASTOPEN", TCP_FASTOPEN, &TcpOptions::fastopen},
};

Result<TcpOptions> read_tcp_options(int sock) {
  TcpOptions o;
  for (const IntOption& opt : kIntOptions)
    o.*opt.member = CR_TRY(get_int_option(sock, IPPROTO_TCP, opt.opt, opt.name, o.*opt.member));
  char name[64] = {};
  socklen_t len = sizeof name - 1;
  if (getsockopt(sock, IPPROTO_TCP, TCP_CONGESTION, name, &len) != 0) return Error::os("getsockopt(TCP_CONGESTION)");
  o.congestion.assign(name, strnlen(name, len));
  return o;
}

Result<void> apply_tcp_options(int sock, const TcpOptions& saved) {
  TcpOptions now = CR_TRY(read_tcp_options(sock));
  if (saved.congestion != now.congestion &&
      setsockopt(sock, IPPROTO_TCP, TCP_CONGESTION, saved.congestion.data(), saved.congestion.size()) != 0) {
    if (errno == EPERM || errno == ENOENT)
      return Error::unsupported(format("TCP congestion control %s is not available here", saved.congestion.c_str()));
    return Error::os("setsockopt(TCP_CONGESTION)");
  }
  for (const IntOption& opt : kIntOptions)
    if (saved.*opt.member != now.*opt.member) CR_TRY(set_int_option(sock, IPPROTO_TCP, opt.opt, opt.name, saved.*opt.member));
  return {};
}

bool detect_tcp(const FdFacts& f) {
  InetIdentity id = inet_identity(f);
  return id.domain && id.type == SOCK_STREAM && id.protocol == IPPROTO_TCP;
}

const char* tcp_state_name(uint32_t state) {
  static const char* const kNames[] = {"?", "established", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
                                       "TIME_WAIT", "closed", "CLOSE_WAIT", "LAST_ACK", "listening", "CLOSING"};
  return state < sizeof kNames / sizeof *kNames ? kNames[state] : "?";
}

Result<void> dump_tcp(const FdFacts& f, FdRecord& rec) {
  Fd sock = CR_TRY(dup_target_fd(f.pid, f.fd));
  int s = sock.get();
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return Error::os(format("fd %d: getsockopt(TCP_INFO)", f.fd));
  TcpSocketRecord r;
  r.state = info.tcpi_state;
  r.local = CR_TRY(local_address(s), "fd %d", f.fd);
  r.family = r.local.family;
  if (r.state != kListen && r.state != kClose && r.state != kEstablished) {
    InetAddress peer = CR_TRY(peer_address(s), "fd %d", f.fd);
    return Error::unsupported(format("fd %d: TCP connection %s -> %s (%s): only established connections are restored",
                                     f.fd, r.local.text().c_str(), peer.text().c_str(), tcp_state_name(r.state)));
  }
  // A listener's accept queue length and backlog (tcp_get_info's use of these fields).
  if (r.state == kListen && info.tcpi_unacked > 0)
    return Error::unsupported(format("fd %d: listening TCP socket %s with %u connections not yet accepted", f.fd,
                                     r.local.text().c_str(), info.tcpi_unacked));
  if (rec.flags & O_ASYNC) return Error::unsupported(format("fd %d: O_ASYNC (SIGIO) on a TCP socket", f.fd));
  r.backlog = r.state == kListen ? info.tcpi_sacked : 0;
  r.socket = CR_TRY(read_socket_options(s), "fd %d", f.fd);
  r.inet = CR_TRY(read_inet_options(s, static_cast<int>(r.family)), "fd %d", f.fd);
  r.tcp = CR_TRY(read_tcp_options(s), "fd %d", f.fd);
  r.inode = f.st.st_ino;
  if (r.state == kEstablished) {
    r.connection = CR_TRY(dump_tcp_connection(std::move(sock)), "fd %d: TCP connection %s", f.fd, r.local.text().c_str());
  }
  set_payload(rec, FdKind::TcpSocket, r);
  return {};
}

std::string connection_name(const TcpSocketRecord& r) {
  return format("%s -> %s", r.local.text().c_str(), r.connection.peer.text().c_str());
}

// Established connections are restored only with their peer: both ends in the image.
Result<void> resolve_tcp(FdTables& tables, bool skip_unsupported) {
  std::set<std::string> ends;
  for (auto& [pid, table] : tables)
    for (const FdRecord& rec : table->fds)
      if (rec.kind == FdKind::TcpSocket) {
        TcpSocketRecord r = CR_TRY(payload_of<TcpSocketRecord>(rec));
        if (r.state == kEstablished) ends.insert(connection_name(r));
      }
  for (auto& [pid, table] : tables)
    for (FdRecord& rec : table->fds) {
      if (rec.kind != FdKind::TcpSocket) continue;
      TcpSocketRecord r = CR_TRY(payload_of<TcpSocketRecord>(rec));
      if (r.state != kEstablished) continue;
      TcpSocketRecord reverse;
      reverse.local = r.connection.peer;
      reverse.connection.peer = r.local;
      if (ends.count(connection_name(reverse))) continue;
      if (TcpRepairScope::outside_peers_allowed()) {
        r.connection.peer_outside = 1;
        set_payload(rec, FdKind::TcpSocket, r);
        continue;
      }
      Error e = Error::unsupported(format("process %d, fd %d: TCP connection %s: its peer is outside the checkpoint "
                                          "(cr_checkpoint --tcp-established saves it)",
                                          pid, rec.fd, connection_name(r).c_str()));
      if (!skip_unsupported) return e;
      skip_fd(rec, e);
    }
  return {};
}

// A new socket with the saved options, before any bind.
Result<Fd> new_tcp_socket(const FdRecord& rec, const TcpSocketRecord& r, const std::string& at) {
  if (r.family != AF_INET && r.family != AF_INET6) return Error::corrupt(format("fd %d: TCP socket of family %u", rec.fd, r.family));
  Fd sock(socket(static_cast<int>(r.family), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!sock.valid()) return Error::os(format("fd %d: socket", rec.fd));
  CR_TRY(apply_socket_options(sock.get(), r.socket), "%s", at.c_str());
  CR_TRY(apply_inet_options(sock.get(), static_cast<int>(r.family), r.inet), "%s", at.c_str());
  return sock;
}

// A listening or unconnected socket: bound again and listening.
Result<Fd> make_unconnected(const FdRecord& rec, const TcpSocketRecord& r, const std::string& at) {
  if (r.state != kListen && r.state != kClose) return Error::corrupt(format("%s: TCP socket in state %u", at.c_str(), r.state));
  Fd sock = CR_TRY(new_tcp_socket(rec, r, at));
  if (!r.local.any()) CR_TRY(bind_again(sock.get(), r.local), "%s", at.c_str());
  if (r.state == kListen && listen(sock.get(), static_cast<int>(r.backlog)) != 0)
    return Error::os(format("%s: listen", at.c_str()));
  CR_TRY(set_int_option(sock.get(), SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", r.socket.reuseaddr), "%s", at.c_str());
  CR_TRY(apply_tcp_options(sock.get(), r.tcp), "%s", at.c_str());
  return sock;
}

// Every TCP socket of the job, made before any fd is opened. Established connections
// first, in repair mode and with SO_REUSEADDR on: a listener on the same port (the one
// that accepted them) can then be bound next to them; then the listeners and the other
// sockets; last the connections get their saved SO_REUSEADDR and leave repair mode
// together, each one's peer existing by then.
Result<void> make_tcp_sockets(const std::vector<const ProcessImage*>& images, const RestoreOptions& options,
                              SharedFiles& shared) {
  struct Made {
    int sock;
    int reuseaddr;
    std::string at;
  };
  std::vector<Made> connections;
  for (bool established : {true, false})
    for (const ProcessImage* image : images)
      for (const FdRecord& rec : image->fds.fds) {
        if (rec.kind != FdKind::TcpSocket || rec.same_as >= 0) continue;
        TcpSocketRecord r = CR_TRY(payload_of<TcpSocketRecord>(rec));
        if ((r.state == kEstablished) != established || shared.sockets.count(r.inode)) continue;
        if (!established) {
          std::string at = format("process %d, fd %d (TCP %s)", image->process.pid, rec.fd, r.local.text().c_str());
          shared.sockets[r.inode] = CR_TRY(make_unconnected(rec, r, at));
          continue;
        }
        std::string at = format("process %d, fd %d (TCP connection %s)", image->process.pid, rec.fd, connection_name(r).c_str());
        if (r.connection.peer_outside && !options.tcp_established)
          return Error::unsupported(format("%s: its peer is outside the image (cr_restart --tcp-established restores it)", at.c_str()));
        Fd sock = CR_TRY(new_tcp_socket(rec, r, at));
        CR_TRY(make_tcp_connection(sock.get(), r.local, r.connection), "%s", at.c_str());
        SocketOptions while_restoring = r.socket;
        while_restoring.reuseaddr = 1;
        CR_TRY(apply_socket_options(sock.get(), while_restoring), "%s", at.c_str());  // the saved buffer sizes
        CR_TRY(apply_tcp_options(sock.get(), r.tcp), "%s", at.c_str());
        connections.push_back({sock.get(), r.socket.reuseaddr, at});
        shared.sockets[r.inode] = std::move(sock);
      }
  for (const Made& c : connections) {
    CR_TRY(set_int_option(c.sock, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", c.reuseaddr), "%s", c.at.c_str());
    CR_TRY(leave_tcp_repair(c.sock), "%s", c.at.c_str());
  }
  return {};
}

Result<Fd> open_tcp(FdOpenContext& ctx, const FdRecord& rec) {
  TcpSocketRecord r = CR_TRY(payload_of<TcpSocketRecord>(rec));
  auto it = ctx.shared.sockets.find(r.inode);
  if (it == ctx.shared.sockets.end()) return Error::corrupt(format("fd %d: its TCP socket was not made", rec.fd));
  Fd f(fcntl(it->second.get(), F_DUPFD_CLOEXEC, 0));
  if (!f.valid()) return Error::os("fcntl(F_DUPFD_CLOEXEC)");
  if ((rec.flags & O_NONBLOCK) && fcntl(f.get(), F_SETFL, O_NONBLOCK) != 0) return Error::os("fcntl(F_SETFL)");
  return f;
}

}  // namespace

const FdKindOps kTcpSocketKind{
    .kind = FdKind::TcpSocket,
    .name = "TCP socket",
    .detect = detect_tcp,
    .dump = dump_tcp,
    .resolve = resolve_tcp,
    .make_shared = make_tcp_sockets,
    .open = open_tcp,
    .print = print_payload<TcpSocketRecord>,
};

}  // namespace crest
