// Unix sockets (unix_socket.h).
#include "fds/unix_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "checkpoint/dump_context.h"
#include "fds/fd_kind.h"
#include "fds/fd_table.h"
#include "fds/inherited.h"
#include "fds/skipped.h"
#include "sys/io.h"
#include "fds/unix_socket_diag.h"
#include "fds/unix_socket_name.h"
#include "restore/restore_context.h"

namespace crest {

namespace {

constexpr uint32_t kEstablished = 1, kClose = 7, kListen = 10;
constexpr uint8_t kReceiveShutdown = 1, kSendShutdown = 2;  // the kernel's RCV_SHUTDOWN, SEND_SHUTDOWN

bool detect_socket(const FdFacts& f) { return S_ISSOCK(f.st.st_mode); }

// Only the inode for now: the rest is decided by resolve_sockets once every process has
// been read.
Result<void> dump_socket(const FdFacts& f, FdRecord& rec) {
  // The kernel counts the descriptors carried by SCM_RIGHTS messages in the receive queue.
  if (std::string n = f.info.get("scm_fds"); !n.empty() && n != "0")
    return Error::unsupported(format("process %d, fd %d (%s): %s file descriptors in flight (SCM_RIGHTS) queued on the socket",
                                     f.pid, f.fd, f.target.c_str(), n.c_str()));
  UnixSocketRecord s;
  s.inode = f.st.st_ino;
  set_payload(rec, FdKind::UnixSocket, s);
  return {};
}

// A bound name as the kernel reports it, a path up to its NUL (the kernel keeps the length
// bind() was given, which may count NULs after the path).
std::string bound_name(const std::string& raw) {
  if (raw.empty() || raw[0] == '\0') return raw;
  return raw.c_str();
}

// A bound name for messages: a path, or "@name" for the abstract namespace.
std::string printable(const std::string& name) {
  if (name.empty()) return "(unnamed)";
  return name[0] == '\0' ? "@" + name.substr(1) : std::string(name.c_str());
}

// Clients whose connection a listener has not accepted yet. The server's end of such a
// connection has no inode until accept() (the client's peer reads 0, as for a peer that
// was closed, but a closed peer shuts the survivor's both sides); the client's peer
// name is the listener's.
struct PendingClients {
  std::map<uint64_t, uint64_t> listener_of;       // client inode -> listener inode in the image, 0 if none
  std::map<uint64_t, std::string> peer_name;      // client inode -> the name it connected to
  std::map<uint64_t, size_t> count;               // listener inode -> its clients in the image
};

Result<PendingClients> find_pending_clients(FdTables& tables, const std::map<uint64_t, UnixSocketInfo>& sockets) {
  std::map<std::string, uint64_t> listeners;
  for (auto& [pid, table] : tables)
    for (const FdRecord& rec : table->fds) {
      if (rec.kind != FdKind::UnixSocket) continue;
      uint64_t ino = CR_TRY(payload_of<UnixSocketRecord>(rec)).inode;
      auto it = sockets.find(ino);
      if (it != sockets.end() && it->second.state == static_cast<int>(kListen) && !it->second.name.empty())
        listeners[bound_name(it->second.name)] = ino;
    }
  PendingClients out;
  for (auto& [pid, table] : tables)
    for (const FdRecord& rec : table->fds) {
      if (rec.kind != FdKind::UnixSocket) continue;
      uint64_t ino = CR_TRY(payload_of<UnixSocketRecord>(rec)).inode;
      auto it = sockets.find(ino);
      if (it == sockets.end() || out.listener_of.count(ino)) continue;
      const UnixSocketInfo& info = it->second;
      if (info.state != static_cast<int>(kEstablished) || info.peer || info.type == SOCK_DGRAM ||
          (info.shutdown & (kReceiveShutdown | kSendShutdown)) == (kReceiveShutdown | kSendShutdown))
        continue;
      Fd dup = CR_TRY(dup_target_fd(pid, rec.fd), "process %d, fd %d", pid, rec.fd);
      sockaddr_un peer{};
      socklen_t len = sizeof peer;
      if (getpeername(dup.get(), reinterpret_cast<sockaddr*>(&peer), &len) != 0 || len <= offsetof(sockaddr_un, sun_path))
        continue;  // a socketpair's end whose peer was closed
      std::string name = bound_name(std::string(peer.sun_path, len - offsetof(sockaddr_un, sun_path)));
      auto l = listeners.find(name);
      out.listener_of[ino] = l == listeners.end() ? 0 : l->second;
      out.peer_name[ino] = name;
      if (l != listeners.end()) ++out.count[l->second];
    }
  return out;
}

Result<void> resolve_sockets(FdTables& tables, bool skip_unsupported) {
  std::set<uint64_t> in_image;
  std::map<uint64_t, std::vector<pid_t>> holders;
  for (auto& [pid, table] : tables)
    for (const FdRecord& rec : table->fds)
      if (rec.kind == FdKind::UnixSocket) {
        uint64_t ino = CR_TRY(payload_of<UnixSocketRecord>(rec)).inode;
        in_image.insert(ino);
        holders[ino].push_back(pid);
      }
  if (in_image.empty()) return {};
  auto sockets = CR_TRY(read_unix_sockets());
  PendingClients pending = CR_TRY(find_pending_clients(tables, sockets));
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
      const auto client = pending.listener_of.find(ino);
      if (info.state == static_cast<int>(kListen) && info.pending_connections != pending.count[ino])
        refused = Error::unsupported(format("process %d, fd %d: listening socket %s with %zu connections not yet accepted, "
                                            "%zu of them from clients outside the image (or closed)",
                                            pid, rec.fd, printable(info.name).c_str(), info.pending_connections,
                                            info.pending_connections - pending.count[ino]));
      else if (client != pending.listener_of.end() && client->second == 0)
        refused = Error::unsupported(format("process %d, fd %d: connection to %s not yet accepted, by a listener outside the image",
                                            pid, rec.fd, printable(pending.peer_name[ino]).c_str()));
      else if (client != pending.listener_of.end() && info.wqueue)
        refused = Error::unsupported(format("process %d, fd %d: connection to %s not yet accepted, with data sent on it "
                                            "(%u bytes of buffers)", pid, rec.fd, printable(pending.peer_name[ino]).c_str(), info.wqueue));
      else if (info.state != static_cast<int>(kEstablished) && info.state != static_cast<int>(kListen) &&
               info.state != static_cast<int>(kClose))
        refused = Error::unsupported(format("process %d, fd %d: unix socket in state %d", pid, rec.fd, info.state));
      SocketOptions options;
      if (!refused) {
        Fd dup = CR_TRY(dup_target_fd(pid, rec.fd), "process %d, fd %d", pid, rec.fd);
        auto read = read_socket_options(dup.get());
        if (read) options = *read;
        else if (read.error().kind() == ErrorKind::Unsupported)
          refused = read.error().context(format("process %d, fd %d (%s)", pid, rec.fd, rec.path.c_str()));
        else
          return read.error().context(format("process %d, fd %d", pid, rec.fd));
      }
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
      s.shutdown = info.shutdown;
      if (client != pending.listener_of.end()) s.pending_on = client->second;
      s.options = options;
      s.name = bound_name(s.name);
      if (!s.name.empty() && s.name[0] != '\0') {
        SocketFile file = locate_socket_file(info, holders[ino]);
        s.directory = file.directory;
        s.file_present = file.present;
        s.file_mode = file.mode;
        s.file_uid = file.uid;
        s.file_gid = file.gid;
      }
      set_payload(rec, FdKind::UnixSocket, s);
    }
  return {};
}

Result<void> write_socket_data(DumpContext& ctx, const FdRecord& rec, SavedObjects& saved) {
  UnixSocketRecord s = CR_TRY(payload_of<UnixSocketRecord>(rec));
  if (s.state == kListen || !saved.insert({SectionType::SocketData, s.inode}).second) return {};
  auto messages = CR_TRY(peek_socket_queue(ctx.pid, rec.fd, static_cast<int>(s.type), (s.shutdown & kReceiveShutdown) != 0), "fd %d", rec.fd);
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

// A socket's send buffer raised as far as this process may while a queue is refilled
// through it (a queue filled by a sender whose buffer the application had raised, or a
// datagram larger than the default buffer), put back to what it was when done.
struct SendBufferRaised {
  int fd;
  int before = 0;
  explicit SendBufferRaised(int sock) : fd(sock) {
    socklen_t len = sizeof before;
    getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &before, &len);
    int big = INT_MAX / 2;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);  // up to net.core.wmem_max
  }
  SendBufferRaised(SendBufferRaised&& o) noexcept : fd(std::exchange(o.fd, -1)), before(o.before) {}
  SendBufferRaised& operator=(SendBufferRaised&&) = delete;
  ~SendBufferRaised() {
    if (fd < 0 || before <= 0) return;
    int half = before / 2;  // the kernel doubles what it is given
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &half, sizeof half) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &half, sizeof half);
  }
};

// The whole of `bytes` into a stream socket, never waiting: what does not fit the
// socket buffers could only wait for a reader that does not exist yet.
Result<void> send_all(int sock, const std::vector<uint8_t>& bytes) {
  size_t at = 0;
  while (at < bytes.size()) {
    ssize_t n = send(sock, bytes.data() + at, bytes.size() - at, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::os(format("%zu of %zu queued bytes sent", at, bytes.size()));
    at += n;
  }
  return {};
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
  // Path-named sockets' files, until the connections and queues are made (a file that was
  // gone is removed again when these go).
  std::map<uint64_t, std::unique_ptr<BoundFile>> files;
  // The address connect() and sendto() reach a named socket by now.
  auto address_of = [&](uint64_t ino, const std::string& name, socklen_t& len) {
    auto f = files.find(ino);
    return unix_address(f == files.end() ? name : f->second->reach(), len);
  };
  auto peer_of = [&](uint64_t ino) -> uint64_t {
    auto it = records.find(ino);
    return it == records.end() ? 0 : it->second.rec.peer;
  };
  // (The kernel marks a datagram socket that another one connect()ed to as established
  // too, with no peer of its own: a named one is restored bound, like any other.)
  auto paired = [&](const UnixSocketRecord& s) {
    bool mutual = s.peer && peer_of(s.peer) == s.inode;
    bool peer_gone = s.state == kEstablished && !s.peer && !s.pending_on && !(s.type == SOCK_DGRAM && !s.name.empty());
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
    if (!s.name.empty() && s.name[0] != '\0') {
      SocketFile file{s.directory, s.file_present != 0, s.file_mode, s.file_uid, s.file_gid};
      files[ino] = CR_TRY(bind_socket_file(sock.get(), fd, s.name, file));
      by_name[s.name] = ino;
    } else if (!s.name.empty()) {
      if (s.name.size() >= sizeof(sockaddr_un::sun_path)) return Error::corrupt("socket name too long");
      socklen_t len;
      sockaddr_un addr = unix_address(s.name, len);
      if (bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
        return Error::os(format("fd %d: binding unix socket to abstract name %s", fd, s.name.c_str() + 1));
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
    sockaddr_un addr = address_of(s.peer, target.name, len);
    if (connect(out[ino].get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
      return Error::os(format("fd %d: connecting to %s", saved.fd, target.name.c_str()));
  }
  // Connections not yet accepted: connect() again, in the order the clients were made
  // (the listener accepts them in that order).
  for (auto& [ino, saved] : records) {
    const UnixSocketRecord& s = saved.rec;
    if (!s.pending_on) continue;
    auto listener = records.find(s.pending_on);
    if (listener == records.end() || listener->second.rec.state != kListen)
      return Error::corrupt(format("fd %d: connection pending on a listener not in the image", saved.fd));
    socklen_t len;
    sockaddr_un addr = address_of(s.pending_on, listener->second.rec.name, len);
    if (connect(out[ino].get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
      return Error::os(format("fd %d: connecting again to %s, not yet accepted", saved.fd, printable(listener->second.rec.name).c_str()));
  }
  // The queues, refilled in order.
  Fd anonymous;
  std::vector<SendBufferRaised> raised;
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
      if (!std::any_of(raised.begin(), raised.end(), [&](const SendBufferRaised& b) { return b.fd == sender; }))
        raised.emplace_back(sender);
      if (r.type == SOCK_STREAM) {
        CR_TRY(send_all(sender, m.bytes), "refilling socket of fd %d", fd);
        continue;
      }
      ssize_t n;
      if (pair) {
        n = send(sender, m.bytes.data(), m.bytes.size(), MSG_DONTWAIT);
      } else {
        if (r.name.empty()) return Error::unsupported(format("fd %d: datagrams queued on an unnamed, unpaired socket", fd));
        socklen_t len;
        sockaddr_un addr = address_of(ino, r.name, len);
        n = sendto(sender, m.bytes.data(), m.bytes.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&addr), len);
      }
      if (n != static_cast<ssize_t>(m.bytes.size()))
        return Error::os(format("refilling socket of fd %d with a message of %zu bytes", fd, m.bytes.size()));
    }
  }
  raised.clear();
  // Shutdown last: a shut receive side would refuse the refill. On a pair the peer's
  // side follows (shutting A's send side shuts B's receive side): made twice, harmless.
  for (auto& [ino, saved] : records) {
    const uint8_t down = saved.rec.shutdown & (kReceiveShutdown | kSendShutdown);
    if (!down) continue;
    const int how = down == (kReceiveShutdown | kSendShutdown) ? SHUT_RDWR : down == kSendShutdown ? SHUT_WR : SHUT_RD;
    if (shutdown(out[ino].get(), how) != 0) return Error::os(format("fd %d: shutdown(%d)", saved.fd, how));
  }
  for (auto& [ino, saved] : records) CR_TRY(apply_socket_options(out[ino].get(), saved.rec.options), "fd %d", saved.fd);
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
