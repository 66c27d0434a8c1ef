// File descriptors: every fd of the image is opened here, in cr_restart, so that a
// missing or changed file is reported before any process exists; the stub then only
// dup2()s them into place.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "base/fd.h"
#include "libcr/protocol.h"
#include "restore/restore_context.h"
#include "sys/io.h"

namespace crest {

namespace {

Result<Fd> open_regular(const FdRecord& rec, const std::string& path) {
  // Creation flags were for the original open(); O_TMPFILE (which includes O_DIRECTORY)
  // marks a file that was made nameless, and would make open() of a path fail.
  int flags = static_cast<int>(rec.flags) & ~(O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY);
  if ((flags & O_TMPFILE) == O_TMPFILE) flags &= ~O_TMPFILE;
  Fd f(::open(path.c_str(), flags | O_CLOEXEC));
  if (!f.valid()) return Error::os(format("fd %d: cannot reopen %s", rec.fd, path.c_str()));
  if (rec.kind == FdKind::Regular || rec.kind == FdKind::Deleted) {
    if (lseek(f.get(), static_cast<off_t>(rec.position), SEEK_SET) < 0)
      return Error::os(format("fd %d: lseek %s to %llu", rec.fd, path.c_str(), (unsigned long long)rec.position));
  }
  return f;
}

// A deleted-but-open file comes back as an unlinked file with the saved contents, created
// in its original directory when that still exists (else in /tmp).
Result<Fd> recreate_deleted(const FdRecord& rec, const std::string& path, const std::vector<uint8_t>& data) {
  if (path.rfind("/memfd:", 0) == 0) {
    // A memfd comes back as a memfd of the same name.
    Fd mem(memfd_create(path.substr(7).c_str(), MFD_CLOEXEC));
    if (!mem.valid()) return Error::os(format("fd %d: memfd_create", rec.fd));
    CR_TRY(write_all(mem.get(), data.data(), data.size()), "fd %d: restoring memfd %s", rec.fd, path.c_str());
    return open_regular(rec, format("/proc/self/fd/%d", mem.get()));
  }
  std::string dir = path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/tmp";
  std::string name = format("%s/.crest-deleted-%d-%d", dir.c_str(), getpid(), rec.fd);
  Fd tmp(::open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!tmp.valid()) {
    name = format("/tmp/.crest-deleted-%d-%d", getpid(), rec.fd);
    tmp = Fd(::open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  }
  if (!tmp.valid()) return Error::os(format("fd %d: creating a file for deleted %s", rec.fd, path.c_str()));
  auto written = write_all(tmp.get(), data.data(), data.size());
  auto reopened = open_regular(rec, name);
  ::unlink(name.c_str());
  if (!written) return written.error().context(format("fd %d: restoring deleted %s", rec.fd, path.c_str()));
  return reopened;
}

bool ours(const RestoreOptions& options, int fd) {
  return std::find(options.inherited_fds.begin(), options.inherited_fds.end(), fd) != options.inherited_fds.end();
}

Result<Fd> open_terminal(const FdRecord& rec, const RestoreOptions& options) {
  // BLCR: terminal fds of the restored process are connected to cr_restart's terminal.
  if (ours(options, rec.fd) && isatty(rec.fd)) return Fd(fcntl(rec.fd, F_DUPFD_CLOEXEC, 0));
  for (int fd = 0; fd <= 2; ++fd)
    if (ours(options, fd) && isatty(fd)) return Fd(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  Fd f(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (f.valid()) return f;
  return Error::os(format("fd %d was a terminal (%s), and cr_restart has no terminal to connect it to", rec.fd, rec.path.c_str()), ENOTTY);
}

Result<Fd> open_inherited(const FdRecord& rec, const RestoreOptions& options) {
  if (ours(options, rec.fd)) return Fd(fcntl(rec.fd, F_DUPFD_CLOEXEC, 0));
  if (rec.path.rfind("pipe:", 0) == 0) {
    int stdio = (rec.flags & O_ACCMODE) == O_RDONLY ? 0 : 1;
    if (ours(options, stdio)) return Fd(fcntl(stdio, F_DUPFD_CLOEXEC, 0));
  }
  return Error::os(format("fd %d was %s, which led outside the checkpointed process, and cr_restart has no fd %d to "
                          "put in its place", rec.fd, rec.path.c_str(), rec.fd), EBADF);
}

// libcr's channel: a new SOCK_SEQPACKET pair; the process gets one end at its channel's
// number, and the restart's Result (our pid, the image's path) waits in it, so that the
// handler blocked in recv() on the channel returns into a restarted cr_checkpoint().
Result<Fd> make_libcr_channel(const FdRecord& rec, const RestoreOptions& options, LibcrChannels& channels, pid_t pid) {
  namespace proto = libcr_proto;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Error::os(format("fd %d: socketpair for libcr", rec.fd));
  Fd theirs(sv[0]), ours_end(sv[1]);
  auto msg = std::make_unique<proto::Result>();
  memset(msg.get(), 0, sizeof *msg);
  msg->magic = proto::kMagic;
  msg->type = proto::kResult;
  msg->value = getpid();
  strncpy(msg->src, restart_source(options).c_str(), sizeof msg->src - 1);
  if (::send(ours_end.get(), msg.get(), sizeof *msg, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof *msg))
    return Error::os(format("fd %d: writing the restart's result for libcr", rec.fd));
  if (rec.flags & O_NONBLOCK) fcntl(theirs.get(), F_SETFL, O_NONBLOCK);
  channels[pid] = std::move(ours_end);
  return theirs;
}

// A checkpoint request that was in flight: its handle reports CR_ERESTARTED at once.
Result<Fd> make_libcr_handle(const FdRecord& rec) {
  namespace proto = libcr_proto;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Error::os(format("fd %d: pipe for a libcr request handle", rec.fd));
  Fd read_end(p[0]), write_end(p[1]);
  proto::HandleMsg msg{proto::kMagic, proto::kFinished, proto::kERestarted, 0};
  CR_TRY(write_all(write_end.get(), &msg, sizeof msg), "fd %d: filling a libcr request handle", rec.fd);
  if (rec.flags & O_NONBLOCK) fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
  return read_end;
}

}  // namespace

std::string restart_source(const RestoreOptions& options) {
  if (!options.source_path.empty()) return options.source_path;
  struct stat st {};
  if (options.in_fd < 0 || fstat(options.in_fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
    return "";
  auto path = read_link(format("/proc/self/fd/%d", options.in_fd));
  if (!path || path->empty() || (*path)[0] != '/') return "";  // an unnamed pipe
  return *path;
}

Result<PipeSet> make_pipes(const std::vector<const ProcessImage*>& images, const RestoreOptions* options) {
  PipeSet pipes;
  for (const ProcessImage* image : images)
    for (const FdRecord& rec : image->fds.fds) {
      if ((rec.kind != FdKind::Pipe && rec.kind != FdKind::Fifo) || pipes.count(rec.pipe_id)) continue;
      if (rec.kind == FdKind::Fifo) {
        Fd holder = CR_TRY(open_fifo(rec, options ? relocate_path(rec.path, options->relocations) : rec.path));
        LocalPipe& lp = pipes[rec.pipe_id];
        lp.write = Fd(fcntl(holder.get(), F_DUPFD_CLOEXEC, 0));
        if (!lp.write.valid()) return Error::os("fcntl(F_DUPFD_CLOEXEC)");
        lp.read = std::move(holder);
      } else {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) return Error::os("pipe2");
        LocalPipe& lp = pipes[rec.pipe_id];
        lp.read = Fd(p[0]);
        lp.write = Fd(p[1]);
      }
      LocalPipe& lp = pipes[rec.pipe_id];
      for (const ProcessImage* owner : images) {
        auto it = owner->pipe_data.find(rec.pipe_id);
        if (it == owner->pipe_data.end()) continue;
        const auto& contents = it->second;
        if (contents.size && fcntl(lp.write.get(), F_SETPIPE_SZ, contents.size) < 0)
          return Error::os(format("F_SETPIPE_SZ %u for a pipe of fd %d", contents.size, rec.fd));
        if (contents.bytes.size() > static_cast<size_t>(fcntl(lp.write.get(), F_GETPIPE_SZ)))
          return Error::corrupt(format("pipe of fd %d holds more bytes than its size", rec.fd));
        CR_TRY(write_all(lp.write.get(), contents.bytes.data(), contents.bytes.size()), "refilling the pipe of fd %d", rec.fd);
        break;
      }
    }
  return pipes;
}

namespace {

// One end of a pipe of the image; a second open file description of the same end is a
// reopen through /proc/self/fd, as the original was.
Result<Fd> open_pipe_end(const FdRecord& rec, PipeSet& pipes) {
  auto it = pipes.find(rec.pipe_id);
  if (it == pipes.end()) return Error::corrupt(format("fd %d: pipe %llu was not made", rec.fd, (unsigned long long)rec.pipe_id));
  LocalPipe& lp = it->second;
  if (rec.kind == FdKind::Fifo) return open_fifo_end(rec, lp.read.get());
  int mode = rec.flags & O_ACCMODE;
  bool* used = mode == O_RDONLY ? &lp.read_used : mode == O_WRONLY ? &lp.write_used : nullptr;
  int source = mode == O_WRONLY ? lp.write.get() : lp.read.get();
  Fd f;
  if (used && !*used) {
    *used = true;
    f = Fd(fcntl(source, F_DUPFD_CLOEXEC, 0));
    if (f.valid() && fcntl(f.get(), F_SETFL, rec.flags & (O_NONBLOCK | O_DIRECT)) != 0) return Error::os("fcntl(F_SETFL) on a pipe");
  } else {
    f = Fd(::open(format("/proc/self/fd/%d", source).c_str(), (rec.flags & ~(O_CREAT | O_TRUNC | O_EXCL)) | O_CLOEXEC | O_NONBLOCK));
    if (f.valid() && !(rec.flags & O_NONBLOCK)) fcntl(f.get(), F_SETFL, rec.flags & O_DIRECT);
  }
  if (!f.valid()) return Error::os(format("fd %d: reopening its pipe", rec.fd));
  return f;
}

// eventfd, signalfd, timerfd and an empty epoll (its registrations are made by the
// restored process itself, see restore_epoll_registrations).
Result<Fd> make_anon_file(const FdRecord& rec) {
  int nonblock = rec.flags & O_NONBLOCK;
  Fd f;
  switch (rec.kind) {
    case FdKind::EventFd:
      if (rec.params.size() != 2) return Error::corrupt(format("fd %d: malformed eventfd record", rec.fd));
      f = Fd(eventfd(static_cast<unsigned>(rec.params[0]), EFD_CLOEXEC | nonblock | (rec.params[1] ? EFD_SEMAPHORE : 0)));
      if (f.valid() && rec.params[0] > UINT32_MAX) {
        uint64_t rest = rec.params[0];
        (void)!::write(f.get(), &rest, sizeof rest);
      }
      break;
    case FdKind::SignalFd: {
      if (rec.params.size() != 1) return Error::corrupt(format("fd %d: malformed signalfd record", rec.fd));
      sigset_t mask;
      sigemptyset(&mask);
      for (int sig = 1; sig <= 64; ++sig)
        if (rec.params[0] & (1ull << (sig - 1))) sigaddset(&mask, sig);
      f = Fd(signalfd(-1, &mask, SFD_CLOEXEC | nonblock));
      break;
    }
    case FdKind::TimerFd: {
      if (rec.params.size() != 6) return Error::corrupt(format("fd %d: malformed timerfd record", rec.fd));
      f = Fd(timerfd_create(static_cast<int>(rec.params[0]), TFD_CLOEXEC | nonblock));
      if (!f.valid()) break;
      itimerspec its{{static_cast<time_t>(rec.params[4]), static_cast<long>(rec.params[5])},
                     {static_cast<time_t>(rec.params[2]), static_cast<long>(rec.params[3])}};
      // A periodic timer that expired reads 0 until the expiration is read (the kernel
      // re-arms it then): arm it for the next period; the expiration is in `ticks`.
      if (!its.it_value.tv_sec && !its.it_value.tv_nsec) its.it_value = its.it_interval;
      if ((its.it_value.tv_sec || its.it_value.tv_nsec) && timerfd_settime(f.get(), 0, &its, nullptr) != 0)
        return Error::os(format("fd %d: timerfd_settime", rec.fd));
      uint64_t ticks = rec.params[1];
      constexpr unsigned long kSetTicks = _IOW('T', 0, uint64_t);  // TFD_IOC_SET_TICKS
      if (ticks && ioctl(f.get(), kSetTicks, &ticks) != 0)
        return Error::os(format("fd %d: restoring %llu timer expirations (TFD_IOC_SET_TICKS)", rec.fd, (unsigned long long)ticks));
      break;
    }
    case FdKind::Epoll:
      f = Fd(epoll_create1(EPOLL_CLOEXEC));
      break;
    default:
      return Error::invalid("not an anonymous-inode file");
  }
  if (!f.valid()) return Error::os(format("fd %d: recreating %s", rec.fd, rec.path.c_str()));
  return f;
}

}  // namespace

namespace {

sockaddr_un unix_address(const std::string& name, socklen_t& len) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, name.data(), std::min(name.size(), sizeof addr.sun_path - 1));
  len = offsetof(sockaddr_un, sun_path) + name.size() + (name[0] == '\0' ? 0 : 1);
  return addr;
}

}  // namespace

// Order: sockets that are each other's peer (socketpair, accepted connections) as one
// new pair; every other socket made and bound to its name (a stale socket file of the
// old process is replaced), listeners listening; then the one-way connections
// (datagram sockets connect()ed to a bound one); last the queues, each message sent
// again from its sender when the sender is in the image, otherwise from an unnamed
// socket (the sender's address is then lost).
Result<SocketSet> make_sockets(const std::vector<const ProcessImage*>& images) {
  std::map<uint64_t, const FdRecord*> records;
  std::map<uint64_t, const std::vector<ProcessImage::QueuedMessage>*> queued;
  for (const ProcessImage* image : images) {
    for (const FdRecord& rec : image->fds.fds)
      if (rec.kind == FdKind::UnixSocket) {
        if (rec.params.size() != 5) return Error::corrupt(format("fd %d: malformed socket record", rec.fd));
        records.emplace(rec.params[2], &rec);
      }
    for (auto& [ino, messages] : image->socket_data) queued[ino] = &messages;
  }
  SocketSet out;
  std::map<uint64_t, Fd> closed_peers;  // socket inode -> the other end, for a peer that is gone
  std::map<std::string, uint64_t> by_name;
  constexpr uint64_t kEstablished = 1, kListen = 10;
  auto peer_of = [&](uint64_t ino) -> uint64_t {
    auto it = records.find(ino);
    return it == records.end() ? 0 : it->second->params[3];
  };
  for (auto& [ino, rec] : records) {
    if (out.count(ino)) continue;
    int type = static_cast<int>(rec->params[0]);
    uint64_t state = rec->params[1], peer = rec->params[3];
    bool mutual = peer && peer_of(peer) == ino;
    // (The kernel marks a datagram socket that another one connect()ed to as established
    // too, with no peer of its own: a named one is restored bound, like any other.)
    bool peer_gone = state == kEstablished && !peer && !(type == SOCK_DGRAM && !rec->path.empty());
    if (mutual || peer_gone) {
      int sv[2];
      if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0) return Error::os(format("fd %d: socketpair", rec->fd));
      out[ino] = Fd(sv[0]);
      if (peer) out[peer] = Fd(sv[1]);
      else closed_peers[ino] = Fd(sv[1]);  // refilled below, then closed: the peer is gone
      continue;
    }
    if (state == kEstablished && peer && !records.count(peer))
      return Error::corrupt(format("fd %d: socket peer %llu is not in the image", rec->fd, (unsigned long long)peer));
    Fd s(socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
    if (!s.valid()) return Error::os(format("fd %d: socket", rec->fd));
    if (!rec->path.empty()) {
      if (rec->path.size() >= sizeof(sockaddr_un::sun_path)) return Error::corrupt("socket name too long");
      if (rec->path[0] != '\0') {
        struct stat st {};
        if (lstat(rec->path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(rec->path.c_str());  // the old one's
      }
      socklen_t len;
      sockaddr_un addr = unix_address(rec->path, len);
      if (bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
        return Error::os(format("fd %d: binding unix socket %s", rec->fd, rec->path.c_str()));
      by_name[rec->path] = ino;
    }
    if (state == kListen && listen(s.get(), static_cast<int>(rec->params[4])) != 0)
      return Error::os(format("fd %d: listen on %s", rec->fd, rec->path.c_str()));
    out[ino] = std::move(s);
  }
  // One-way connections: connect() to the peer's name, now that it is bound.
  for (auto& [ino, rec] : records) {
    uint64_t peer = rec->params[3];
    if (rec->params[1] != kEstablished || !peer || peer_of(peer) == ino) continue;
    const FdRecord* target = records[peer];
    if (target->path.empty())
      return Error::unsupported(format("fd %d: connected to an unnamed socket that is not connected back", rec->fd));
    socklen_t len;
    sockaddr_un addr = unix_address(target->path, len);
    if (connect(out[ino].get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
      return Error::os(format("fd %d: connecting to %s", rec->fd, target->path.c_str()));
  }
  // The queues, refilled in order.
  Fd anonymous;
  for (auto& [ino, messages] : queued) {
    auto rec = records.find(ino);
    if (rec == records.end()) return Error::corrupt("queued socket data for a socket not in the image");
    const FdRecord& r = *rec->second;
    uint64_t peer = r.params[3];
    bool paired = (peer && peer_of(peer) == ino) ||
                  (r.params[1] == kEstablished && !peer && !(r.params[0] == SOCK_DGRAM && !r.path.empty()));
    for (auto& m : *messages) {
      int sender = -1;
      if (paired) {
        sender = peer ? out[peer].get() : closed_peers[ino].get();
      } else if (auto named = by_name.find(m.sender); !m.sender.empty() && named != by_name.end()) {
        sender = out[named->second].get();
      } else {
        if (!anonymous.valid()) anonymous = Fd(socket(AF_UNIX, static_cast<int>(r.params[0]) | SOCK_CLOEXEC, 0));
        sender = anonymous.get();
      }
      if (r.params[0] == SOCK_STREAM) {
        CR_TRY(write_all(sender, m.bytes.data(), m.bytes.size()), "refilling socket of fd %d", r.fd);
        continue;
      }
      ssize_t n;
      if (paired) {
        n = send(sender, m.bytes.data(), m.bytes.size(), MSG_DONTWAIT);
      } else {
        if (r.path.empty())
          return Error::unsupported(format("fd %d: datagrams queued on an unnamed, unpaired socket", r.fd));
        socklen_t len;
        sockaddr_un addr = unix_address(r.path, len);
        n = sendto(sender, m.bytes.data(), m.bytes.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&addr), len);
      }
      if (n != static_cast<ssize_t>(m.bytes.size())) return Error::os(format("refilling socket of fd %d", r.fd));
    }
  }
  return out;
}

Result<std::vector<PreparedFd>> prepare_fds(const ProcessImage& image, const RestoreOptions& options, const PreparedMap& earlier,
                                            PipeSet& pipes, SocketSet& sockets, LibcrChannels& channels) {
  std::vector<PreparedFd> out;
  auto fail = [&](Error e) -> Result<std::vector<PreparedFd>> {
    close_prepared(out);
    return e;
  };
  int base = 0;
  for (auto& rec : image.fds.fds) base = std::max(base, rec.fd + 1);
  base = std::max(base, 64);
  for (const FdRecord& rec : image.fds.fds) {
    if (rec.same_as >= 0 && rec.same_as_pid != 0) {
      auto e = earlier.find({rec.same_as_pid, rec.same_as});
      if (e == earlier.end())
        return fail(Error::corrupt(format("fd %d shares the file of fd %d of process %d, which is not in the image", rec.fd,
                                          rec.same_as, rec.same_as_pid)));
      int dup = fcntl(e->second, F_DUPFD_CLOEXEC, base);
      if (dup < 0) return fail(Error::os("fcntl(F_DUPFD_CLOEXEC)"));
      out.push_back({rec.fd, dup});
      continue;
    }
    if (rec.same_as >= 0) {
      auto it = std::find_if(out.begin(), out.end(), [&](const PreparedFd& p) { return p.target == rec.same_as; });
      if (it == out.end()) return fail(Error::corrupt(format("fd %d shares the file of fd %d, which is not in the image", rec.fd, rec.same_as)));
      int dup = fcntl(it->local, F_DUPFD_CLOEXEC, base);
      if (dup < 0) return fail(Error::os("fcntl(F_DUPFD_CLOEXEC)"));
      out.push_back({rec.fd, dup});
      continue;
    }
    std::string path = relocate_path(rec.path, options.relocations);
    Result<Fd> f = Error::invalid("unreachable");
    switch (rec.kind) {
      case FdKind::Regular:
      case FdKind::Directory:
      case FdKind::Device:
        f = open_regular(rec, path);
        break;
      case FdKind::Deleted: {
        auto it = image.file_data.find(rec.fd);
        if (it == image.file_data.end()) return fail(Error::corrupt(format("no saved contents for deleted file of fd %d", rec.fd)));
        f = recreate_deleted(rec, path, it->second);
        break;
      }
      case FdKind::Terminal:
        f = open_terminal(rec, options);
        break;
      case FdKind::Inherited:
        f = open_inherited(rec, options);
        break;
      case FdKind::Pipe:
      case FdKind::Fifo:
        f = open_pipe_end(rec, pipes);
        break;
      case FdKind::Skipped:
        continue;  // left out at checkpoint: closed in the restored process
      case FdKind::UnixSocket: {
        auto it = sockets.find(rec.params.size() == 5 ? rec.params[2] : 0);
        if (it == sockets.end()) return fail(Error::corrupt(format("fd %d: its socket was not made", rec.fd)));
        f = Fd(fcntl(it->second.get(), F_DUPFD_CLOEXEC, 0));
        if (f->valid() && (rec.flags & O_NONBLOCK)) fcntl(f->get(), F_SETFL, O_NONBLOCK);
        break;
      }
      case FdKind::EventFd:
      case FdKind::SignalFd:
      case FdKind::TimerFd:
      case FdKind::Epoll:
        f = make_anon_file(rec);
        break;
      case FdKind::Inotify:
        f = make_inotify(rec, options);
        break;
      case FdKind::LibcrChannel:
        f = make_libcr_channel(rec, options, channels, image.process.pid);
        break;
      case FdKind::LibcrHandle:
        f = make_libcr_handle(rec);
        break;
    }
    if (!f) return fail(f.error());
    if (rec.kind == FdKind::Regular && rec.size != 0) {
      struct stat st {};
      if (fstat(f->get(), &st) == 0 && static_cast<uint64_t>(st.st_size) < rec.position)
        fprintf(stderr, "cr_restart: warning: fd %d: %s is now shorter (%lld bytes) than its saved offset %llu\n", rec.fd,
                path.c_str(), (long long)st.st_size, (unsigned long long)rec.position);
    }
    int high = fcntl(f->get(), F_DUPFD_CLOEXEC, base);
    if (high < 0) return fail(Error::os("fcntl(F_DUPFD_CLOEXEC)"));
    out.push_back({rec.fd, high});
  }
  return out;
}

void close_prepared(std::vector<PreparedFd>& fds) {
  for (auto& p : fds)
    if (p.local >= 0) ::close(p.local);
  fds.clear();
}

std::string relocate_path(const std::string& path, const std::vector<std::pair<std::string, std::string>>& relocations) {
  for (auto& [from, to] : relocations) {
    if (path.compare(0, from.size(), from) != 0) continue;
    if (path.size() == from.size() || path[from.size()] == '/' || from == "/") return to + path.substr(from.size());
  }
  return path;
}

}  // namespace crest
