// Unix sockets (unix_socket.h).
#include "fds/unix_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "checkpoint/dump_context.h"
#include "fds/fd_kind.h"
#include "fds/fd_table.h"
#include "fds/inherited.h"
#include "fds/skipped.h"
#include "fds/unix_socket_diag.h"
#include "restore/restore_context.h"
#include "sys/io.h"

namespace crest {

namespace {

constexpr uint32_t kEstablished = 1, kClose = 7, kListen = 10;

bool detect_socket(const FdFacts& f) { return S_ISSOCK(f.st.st_mode); }

// Only the inode for now: the rest is decided by resolve_sockets once every process has
// been read.
Result<void> dump_socket(const FdFacts& f, FdRecord& rec) {
  UnixSocketRecord s;
  s.inode = f.st.st_ino;
  set_payload(rec, FdKind::UnixSocket, s);
  return {};
}

Result<void> resolve_sockets(FdTables& tables, bool skip_unsupported) {
  std::set<uint64_t> in_image;
  for (auto& [pid, table] : tables)
    for (const FdRecord& rec : table->fds)
      if (rec.kind == FdKind::UnixSocket) in_image.insert(CR_TRY(payload_of<UnixSocketRecord>(rec)).inode);
  if (in_image.empty()) return {};
  auto sockets = CR_TRY(read_unix_sockets());
  for (auto& [pid, table] : tables)
    for (FdRecord& rec : table->fds) {
      if (rec.kind != FdKind::UnixSocket) continue;
      uint64_t ino = CR_TRY(payload_of<UnixSocketRecord>(rec)).inode;
      auto it = sockets.find(ino);
      if (it == sockets.end()) {
        // Not a unix socket (TCP, UDP, netlink...): on stdin/stdout/stderr it stands for
        // the outside world and is replaced by cr_restart's (BLCR); elsewhere it cannot
        // be restored.
        if (rec.fd <= 2) {
          make_inherited(rec);
          continue;
        }
        Error e = Error::unsupported(format("process %d, fd %d (%s): only unix sockets are supported", pid, rec.fd, rec.path.c_str()));
        if (!skip_unsupported) return e;
        skip_fd(rec, e);
        continue;
      }
      const UnixSocketInfo& info = it->second;
      if (info.state == static_cast<int>(kEstablished) && info.peer && !in_image.count(info.peer)) {
        make_inherited(rec);  // connected to a process outside the image (BLCR)
        continue;
      }
      std::optional<Error> refused;
      if (info.state == static_cast<int>(kListen) && info.pending_connections)
        refused = Error::unsupported(format("process %d, fd %d: listening socket with %zu connections not yet accepted", pid,
                                            rec.fd, info.pending_connections));
      else if (info.state != static_cast<int>(kEstablished) && info.state != static_cast<int>(kListen) &&
               info.state != static_cast<int>(kClose))
        refused = Error::unsupported(format("process %d, fd %d: unix socket in state %d", pid, rec.fd, info.state));
      if (refused) {
        if (!skip_unsupported) return *refused;
        skip_fd(rec, *refused);
        continue;
      }
      // A connected socket whose peer was closed keeps what was queued for it: restored as
      // one end of a new pair whose other end is closed after refilling.
      UnixSocketRecord s;
      s.type = info.type;
      s.state = info.state;
      s.inode = ino;
      s.peer = info.peer;
      s.backlog = info.wqueue;
      s.name = info.name;
      if (!s.name.empty() && s.name[0] != '\0') s.name = s.name.c_str();  // a path: up to its NUL
      set_payload(rec, FdKind::UnixSocket, s);
    }
  return {};
}

Result<void> write_socket_data(DumpContext& ctx, const FdRecord& rec, SavedObjects& saved) {
  UnixSocketRecord s = CR_TRY(payload_of<UnixSocketRecord>(rec));
  if (s.state == kListen || !saved.insert({SectionType::SocketData, s.inode}).second) return {};
  auto messages = CR_TRY(peek_socket_queue(ctx.pid, rec.fd, static_cast<int>(s.type)), "fd %d", rec.fd);
  if (messages.empty()) return {};
  std::vector<uint8_t> payload;
  ObjectDataHeader head{s.inode, static_cast<uint32_t>(messages.size()), 0};
  payload.insert(payload.end(), reinterpret_cast<uint8_t*>(&head), reinterpret_cast<uint8_t*>(&head) + sizeof head);
  for (auto& m : messages) {
    uint32_t len = m.bytes.size(), name_len = m.sender.size();
    payload.insert(payload.end(), reinterpret_cast<uint8_t*>(&len), reinterpret_cast<uint8_t*>(&len) + 4);
    payload.insert(payload.end(), reinterpret_cast<uint8_t*>(&name_len), reinterpret_cast<uint8_t*>(&name_len) + 4);
    payload.insert(payload.end(), m.sender.begin(), m.sender.end());
    payload.insert(payload.end(), m.bytes.begin(), m.bytes.end());
  }
  return ctx.writer.write_section(SectionType::SocketData, ctx.pid, {{payload.data(), payload.size()}});
}

sockaddr_un unix_address(const std::string& name, socklen_t& len) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, name.data(), std::min(name.size(), sizeof addr.sun_path - 1));
  len = offsetof(sockaddr_un, sun_path) + name.size() + (name[0] == '\0' ? 0 : 1);
  return addr;
}

struct SavedSocket {
  int fd;
  UnixSocketRecord rec;
};

// Order: sockets that are each other's peer (socketpair, accepted connections) as one
// new pair; every other socket made and bound to its name (a stale socket file of the
// old process is replaced), listeners listening; then the one-way connections
// (datagram sockets connect()ed to a bound one); last the queues, each message sent
// again from its sender when the sender is in the image, otherwise from an unnamed
// socket (the sender's address is then lost).
Result<void> make_sockets(const std::vector<const ProcessImage*>& images, const RestoreOptions&, SharedFiles& shared) {
  std::map<uint64_t, SavedSocket> records;
  std::map<uint64_t, const std::vector<ProcessImage::QueuedMessage>*> queued;
  for (const ProcessImage* image : images) {
    for (const FdRecord& rec : image->fds.fds)
      if (rec.kind == FdKind::UnixSocket) {
        UnixSocketRecord s = CR_TRY(payload_of<UnixSocketRecord>(rec));
        records.emplace(s.inode, SavedSocket{rec.fd, s});
      }
    for (auto& [ino, messages] : image->socket_data) queued[ino] = &messages;
  }
  SocketSet& out = shared.sockets;
  std::map<uint64_t, Fd> closed_peers;  // socket inode -> the other end, for a peer that is gone
  std::map<std::string, uint64_t> by_name;
  auto peer_of = [&](uint64_t ino) -> uint64_t {
    auto it = records.find(ino);
    return it == records.end() ? 0 : it->second.rec.peer;
  };
  // (The kernel marks a datagram socket that another one connect()ed to as established
  // too, with no peer of its own: a named one is restored bound, like any other.)
  auto paired = [&](const UnixSocketRecord& s) {
    bool mutual = s.peer && peer_of(s.peer) == s.inode;
    bool peer_gone = s.state == kEstablished && !s.peer && !(s.type == SOCK_DGRAM && !s.name.empty());
    return mutual || peer_gone;
  };
  for (auto& [ino, saved] : records) {
    if (out.count(ino)) continue;
    const UnixSocketRecord& s = saved.rec;
    const int fd = saved.fd;
    int type = static_cast<int>(s.type);
    if (paired(s)) {
      int sv[2];
      if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0) return Error::os(format("fd %d: socketpair", fd));
      out[ino] = Fd(sv[0]);
      if (s.peer) out[s.peer] = Fd(sv[1]);
      else closed_peers[ino] = Fd(sv[1]);  // refilled below, then closed: the peer is gone
      continue;
    }
    if (s.state == kEstablished && s.peer && !records.count(s.peer))
      return Error::corrupt(format("fd %d: socket peer %llu is not in the image", fd, (unsigned long long)s.peer));
    Fd sock(socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
    if (!sock.valid()) return Error::os(format("fd %d: socket", fd));
    if (!s.name.empty()) {
      if (s.name.size() >= sizeof(sockaddr_un::sun_path)) return Error::corrupt("socket name too long");
      if (s.name[0] != '\0') {
        struct stat st {};
        if (lstat(s.name.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(s.name.c_str());  // the old one's
      }
      socklen_t len;
      sockaddr_un addr = unix_address(s.name, len);
      if (bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
        return Error::os(format("fd %d: binding unix socket %s", fd, s.name.c_str()));
      by_name[s.name] = ino;
    }
    if (s.state == kListen && listen(sock.get(), static_cast<int>(s.backlog)) != 0)
      return Error::os(format("fd %d: listen on %s", fd, s.name.c_str()));
    out[ino] = std::move(sock);
  }
  // One-way connections: connect() to the peer's name, now that it is bound.
  for (auto& [ino, saved] : records) {
    const UnixSocketRecord& s = saved.rec;
    if (s.state != kEstablished || !s.peer || peer_of(s.peer) == ino) continue;
    const UnixSocketRecord& target = records.at(s.peer).rec;
    if (target.name.empty())
      return Error::unsupported(format("fd %d: connected to an unnamed socket that is not connected back", saved.fd));
    socklen_t len;
    sockaddr_un addr = unix_address(target.name, len);
    if (connect(out[ino].get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
      return Error::os(format("fd %d: connecting to %s", saved.fd, target.name.c_str()));
  }
  // The queues, refilled in order.
  Fd anonymous;
  for (auto& [ino, messages] : queued) {
    auto found = records.find(ino);
    if (found == records.end()) return Error::corrupt("queued socket data for a socket not in the image");
    const UnixSocketRecord& r = found->second.rec;
    const int fd = found->second.fd;
    const bool pair = paired(r);
    for (auto& m : *messages) {
      int sender = -1;
      if (pair) {
        sender = r.peer ? out[r.peer].get() : closed_peers[ino].get();
      } else if (auto named = by_name.find(m.sender); !m.sender.empty() && named != by_name.end()) {
        sender = out[named->second].get();
      } else {
        if (!anonymous.valid()) anonymous = Fd(socket(AF_UNIX, static_cast<int>(r.type) | SOCK_CLOEXEC, 0));
        sender = anonymous.get();
      }
      if (r.type == SOCK_STREAM) {
        CR_TRY(write_all(sender, m.bytes.data(), m.bytes.size()), "refilling socket of fd %d", fd);
        continue;
      }
      ssize_t n;
      if (pair) {
        n = send(sender, m.bytes.data(), m.bytes.size(), MSG_DONTWAIT);
      } else {
        if (r.name.empty()) return Error::unsupported(format("fd %d: datagrams queued on an unnamed, unpaired socket", fd));
        socklen_t len;
        sockaddr_un addr = unix_address(r.name, len);
        n = sendto(sender, m.bytes.data(), m.bytes.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&addr), len);
      }
      if (n != static_cast<ssize_t>(m.bytes.size())) return Error::os(format("refilling socket of fd %d", fd));
    }
  }
  return {};
}

Result<Fd> open_socket(FdOpenContext& c, const FdRecord& rec) {
  uint64_t ino = CR_TRY(payload_of<UnixSocketRecord>(rec)).inode;
  auto it = c.shared.sockets.find(ino);
  if (it == c.shared.sockets.end()) return Error::corrupt(format("fd %d: its socket was not made", rec.fd));
  Fd f(fcntl(it->second.get(), F_DUPFD_CLOEXEC, 0));
  if (f.valid() && (rec.flags & O_NONBLOCK)) fcntl(f.get(), F_SETFL, O_NONBLOCK);
  return f;
}

}  // namespace

Result<void> read_socket_data(const Section& s, ProcessImage& image) {
  ObjectDataHeader head;
  if (s.payload.size() < sizeof head) return Error::corrupt("short SocketData section");
  memcpy(&head, s.payload.data(), sizeof head);
  auto& messages = image.socket_data[head.object_id];
  size_t at = sizeof head;
  for (uint32_t i = 0; i < head.value; ++i) {
    uint32_t len, name_len;
    if (at + 8 > s.payload.size()) return Error::corrupt("SocketData runs past its section");
    memcpy(&len, s.payload.data() + at, 4);
    memcpy(&name_len, s.payload.data() + at + 4, 4);
    at += 8;
    if (name_len > s.payload.size() - at || len > s.payload.size() - at - name_len)
      return Error::corrupt("SocketData runs past its section");
    ProcessImage::QueuedMessage m;
    m.sender.assign(reinterpret_cast<const char*>(s.payload.data() + at), name_len);
    at += name_len;
    m.bytes.assign(s.payload.begin() + at, s.payload.begin() + at + len);
    at += len;
    messages.push_back(std::move(m));
  }
  if (at != s.payload.size()) return Error::corrupt("SocketData has trailing bytes");
  return {};
}

const FdKindOps kUnixSocketKind{
    .kind = FdKind::UnixSocket,
    .name = "unix socket",
    .detect = detect_socket,
    .dump = dump_socket,
    .resolve = resolve_sockets,
    .write_data = write_socket_data,
    .make_shared = make_sockets,
    .open = open_socket,
    .print = print_payload<UnixSocketRecord>,
};

}  // namespace crest
