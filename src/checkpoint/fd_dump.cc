// File descriptors: classify every entry of /proc/PID/fd; save the contents of files
// that were deleted while open.
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <map>
#include <set>
#include <cstring>
#include <sstream>

#include "base/fd.h"
#include "checkpoint/cooperate.h"
#include "checkpoint/dump_context.h"
#include "sys/io.h"

namespace crest {

namespace {

bool is_terminal(dev_t rdev) {
  unsigned maj = major(rdev);
  // 136-143: /dev/pts/N; 4: /dev/ttyN, /dev/ttySN; 5: /dev/tty, /dev/console, /dev/ptmx
  return (maj >= 136 && maj <= 143) || maj == 4 || maj == 5;
}

// /proc/PID/fdinfo/FD as "key" -> "rest of the line"; epoll's "tfd:" lines are kept in
// order in `tfd_lines`.
struct FdInfo {
  std::map<std::string, std::string> fields;
  std::vector<std::string> tfd_lines;
  std::string get(const char* k) const {
    auto it = fields.find(k);
    return it == fields.end() ? std::string() : it->second;
  }
};

Result<FdInfo> read_fdinfo(pid_t pid, int fd, FdRecord& rec) {
  auto text = CR_TRY(read_text_file(format("/proc/%d/fdinfo/%d", pid, fd)));
  FdInfo info;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (key == "tfd") info.tfd_lines.push_back(line);
    else info.fields[key] = value;
  }
  rec.position = std::strtoull(info.get("pos").c_str(), nullptr, 10);
  uint32_t flags = std::strtoul(info.get("flags").c_str(), nullptr, 8);
  rec.cloexec = (flags & O_CLOEXEC) ? 1 : 0;
  rec.flags = flags & ~O_CLOEXEC;
  return info;
}

// A periodic timerfd that expired counts its overruns only when read or queried:
// timerfd_gettime() on a duplicate folds them into the pending expirations and re-arms
// the timer (as the program's own next read would), so fdinfo then shows both right.
Result<void> settle_timerfd(pid_t pid, int fd) {
  Fd dup = CR_TRY(dup_target_fd(pid, fd));
  itimerspec cur{};
  if (timerfd_gettime(dup.get(), &cur) != 0) return Error::os("timerfd_gettime");
  return {};
}

// eventfd, signalfd, timerfd and epoll, from what fdinfo shows of them.
Result<void> classify_anon_inode(const FdInfo& info, const std::string& target, FdRecord& rec) {
  if (target == "anon_inode:[eventfd]") {
    rec.kind = FdKind::EventFd;
    rec.params = {std::strtoull(info.get("eventfd-count").c_str(), nullptr, 16), info.get("eventfd-semaphore") == "1" ? 1u : 0u};
    if (info.get("eventfd-count").empty()) return Error::unsupported(format("fd %d: eventfd without a count in fdinfo", rec.fd));
  } else if (target == "anon_inode:[signalfd]") {
    rec.kind = FdKind::SignalFd;
    rec.params = {std::strtoull(info.get("sigmask").c_str(), nullptr, 16)};
  } else if (target == "anon_inode:[timerfd]") {
    rec.kind = FdKind::TimerFd;
    unsigned long long vs = 0, vn = 0, is = 0, in = 0;
    if (sscanf(info.get("it_value").c_str(), "(%llu, %llu)", &vs, &vn) != 2 ||
        sscanf(info.get("it_interval").c_str(), "(%llu, %llu)", &is, &in) != 2)
      return Error::unsupported(format("fd %d: timerfd state not readable from fdinfo", rec.fd));
    rec.params = {std::strtoull(info.get("clockid").c_str(), nullptr, 10), std::strtoull(info.get("ticks").c_str(), nullptr, 10),
                  vs, vn, is, in};
  } else if (target == "anon_inode:[eventpoll]") {
    rec.kind = FdKind::Epoll;
    for (const std::string& l : info.tfd_lines) {
      int tfd = -1;
      unsigned events = 0;
      unsigned long long data = 0;
      if (sscanf(l.c_str(), "tfd: %d events: %x data: %llx", &tfd, &events, &data) != 3)
        return Error::unsupported(format("fd %d: cannot parse epoll entry '%s'", rec.fd, l.c_str()));
      rec.epoll.push_back({tfd, events, data});
    }
  } else {
    return Error::unsupported(format("fd %d (%s): this kind of file is not supported yet", rec.fd, target.c_str()));
  }
  return {};
}

// --skip-unsupported: the fd is left out of the image (closed at restart), with a warning.
void skip(FdRecord& rec, const Error& why) {
  warn(format("leaving out %s (--skip-unsupported): it will be closed at restart", why.message().c_str()));
  rec.kind = FdKind::Skipped;
  rec.params.clear();
  rec.epoll.clear();
  rec.watches.clear();
}

}  // namespace

Result<FdTableRecord> collect_fds(pid_t pid, bool skip_unsupported) {
  FdTableRecord table;
  std::string dir = format("/proc/%d/fd", pid);
  DIR* d = opendir(dir.c_str());
  if (!d) return Error::os("opendir " + dir);
  std::vector<int> fds;
  while (dirent* e = readdir(d))
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') fds.push_back(atoi(e->d_name));
  closedir(d);
  std::sort(fds.begin(), fds.end());

  for (int fd : fds) {
    FdRecord rec;
    rec.fd = fd;
    std::string link = format("%s/%d", dir.c_str(), fd);
    auto target = read_link(link);
    if (!target) continue;  // closed meanwhile (cannot happen while frozen, but harmless)
    struct stat st {};
    if (stat(link.c_str(), &st) != 0) return Error::os(format("stat of fd %d (%s)", fd, target->c_str()));
    if (*target == "anon_inode:[timerfd]") CR_TRY(settle_timerfd(pid, fd), "fd %d", fd);
    FdInfo info = CR_TRY(read_fdinfo(pid, fd, rec), "fd %d", fd);
    rec.path = *target;
    rec.size = st.st_size;
    rec.mtime_ns = st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
    const char* deleted_suffix = " (deleted)";
    bool deleted = rec.path.size() > strlen(deleted_suffix) &&
                   rec.path.compare(rec.path.size() - strlen(deleted_suffix), std::string::npos, deleted_suffix) == 0;
    if (S_ISREG(st.st_mode)) {
      if (deleted && st.st_nlink == 0) {
        rec.kind = FdKind::Deleted;
        rec.params = {st.st_ino};  // to match a shared mapping of the same file
        rec.path.resize(rec.path.size() - strlen(deleted_suffix));
      } else {
        rec.kind = FdKind::Regular;
      }
    } else if (S_ISDIR(st.st_mode)) {
      rec.kind = FdKind::Directory;
    } else if (S_ISCHR(st.st_mode)) {
      rec.kind = is_terminal(st.st_rdev) ? FdKind::Terminal : FdKind::Device;
    } else if (S_ISFIFO(st.st_mode) && is_named_fifo(*target)) {
      classify_fifo(st, rec);  // fifo_dump.cc: by path
    } else if (S_ISFIFO(st.st_mode)) {
      // Inside the image if both ends are (decided by classify_pipes once every process
      // has been read); otherwise it leads outside, like a socket below.
      rec.kind = FdKind::Pipe;
      rec.pipe_id = st.st_ino;
    } else if (S_ISSOCK(st.st_mode)) {
      // Decided by classify_sockets once every process has been read.
      rec.kind = FdKind::UnixSocket;
      rec.params = {0, 0, st.st_ino, 0, 0};
    } else {
      auto r = *target == "anon_inode:inotify" ? classify_inotify(pid, rec)  // inotify_dump.cc
               : target->rfind("anon_inode:", 0) == 0
                   ? classify_anon_inode(info, *target, rec)
                   : Result<void>(Error::unsupported(format("fd %d (%s): this kind of file is not supported yet", fd, target->c_str())));
      if (!r) {
        if (!skip_unsupported) return r.error().context(format("process %d", pid));
        skip(rec, r.error());
      }
    }
    // Descriptors made by dup() share one open file description (offset, flags): find
    // the lowest one this fd shares it with, so restore can dup() it again.
    for (const FdRecord& earlier : table.fds) {
      if (earlier.same_as >= 0 || earlier.kind != rec.kind) continue;
      if (syscall(SYS_kcmp, pid, pid, KCMP_FILE, earlier.fd, fd) == 0) {
        rec.same_as = earlier.fd;
        break;
      }
    }
    table.fds.push_back(std::move(rec));
  }
  for (FdRecord& rec : table.fds)
    for (const EpollTargetRecord& t : rec.epoll)
      if (std::none_of(table.fds.begin(), table.fds.end(), [&](const FdRecord& r) { return r.fd == t.fd; })) {
        Error e = Error::unsupported(format("epoll fd %d watches fd %d, which is closed now; not supported", rec.fd, t.fd));
        if (!skip_unsupported) return e;
        skip(rec, e);
        break;
      }
  return table;
}

Result<void> write_fd_data(DumpContext& ctx, const FdTableRecord& table) {
  for (const FdRecord& rec : table.fds) {
    if (rec.kind != FdKind::Deleted) continue;
    Fd f(::open(format("/proc/%d/fd/%d", ctx.pid, rec.fd).c_str(), O_RDONLY | O_CLOEXEC));
    if (!f.valid()) return Error::os(format("opening deleted file behind fd %d (%s)", rec.fd, rec.path.c_str()));
    std::vector<uint8_t> data;
    data.resize(rec.size);
    size_t got = 0;
    while (got < data.size()) {
      ssize_t n = pread(f.get(), data.data() + got, data.size() - got, got);
      if (n < 0) return Error::os(format("reading deleted file behind fd %d", rec.fd));
      if (n == 0) break;
      got += n;
    }
    data.resize(got);
    int32_t fd = rec.fd;
    CR_TRY(ctx.writer.write_section(SectionType::FileData, ctx.pid, {{&fd, sizeof fd}, {data.data(), data.size()}}));
  }
  return {};
}

void link_shared_files(std::vector<std::pair<pid_t, FdTableRecord*>>& tables) {
  for (size_t j = 1; j < tables.size(); ++j) {
    auto [pid_j, table_j] = tables[j];
    for (FdRecord& rec : table_j->fds) {
      if (rec.same_as >= 0) continue;  // already shares with a lower fd of its own process
      for (size_t i = 0; i < j && rec.same_as < 0; ++i) {
        auto [pid_i, table_i] = tables[i];
        for (const FdRecord& earlier : table_i->fds) {
          if (earlier.same_as >= 0 || earlier.kind != rec.kind) continue;
          if (syscall(SYS_kcmp, pid_i, pid_j, KCMP_FILE, earlier.fd, rec.fd) == 0) {
            rec.same_as = earlier.fd;
            rec.same_as_pid = pid_i;
            break;
          }
        }
      }
    }
  }
}

// Whether a process outside `inside` holds pipe `ino` open. A process whose descriptors
// we may not read (another user's, when crest runs unprivileged) might: then the answer
// is yes, and the end is connected to cr_restart's stdio at restart, as BLCR always did.
// (Taking it for "closed everywhere" would restore a pipe with no reader: SIGPIPE.)
bool held_outside(uint64_t ino, const std::set<pid_t>& inside) {
  std::string want = format("pipe:[%llu]", static_cast<unsigned long long>(ino));
  for (pid_t pid : list_all_pids()) {
    if (inside.count(pid) || pid == getpid()) continue;
    std::string dir = format("/proc/%d/fd", pid);
    DIR* d = opendir(dir.c_str());
    if (!d) {
      if (errno == EACCES || errno == EPERM) return true;
      continue;  // gone meanwhile
    }
    bool found = false;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      auto target = read_link(dir + "/" + e->d_name);
      if (target && *target == want) {
        found = true;
        break;
      }
    }
    closedir(d);
    if (found) return true;
  }
  return false;
}

void classify_pipes(std::vector<std::pair<pid_t, FdTableRecord*>>& tables) {
  std::map<uint64_t, int> ends;  // pipe_id -> bit 1: a read end seen, bit 2: a write end seen
  std::set<pid_t> inside;
  for (auto& [pid, table] : tables) {
    inside.insert(pid);
    for (const FdRecord& rec : table->fds)
      if (rec.kind == FdKind::Pipe) ends[rec.pipe_id] |= (rec.flags & O_ACCMODE) == O_RDONLY ? 1 : (rec.flags & O_ACCMODE) == O_WRONLY ? 2 : 3;
  }
  std::map<uint64_t, bool> outside;
  for (auto& [id, seen] : ends)
    if (seen != 3) outside[id] = held_outside(id, inside);
  for (auto& [pid, table] : tables)
    for (FdRecord& rec : table->fds)
      if (rec.kind == FdKind::Pipe && ends[rec.pipe_id] != 3 && outside[rec.pipe_id]) {
        // The other end is held outside the image: at restart this end is connected to
        // cr_restart's stdin/stdout (or fd of the same number), as BLCR did. A pipe whose
        // other end is closed everywhere stays a pipe (restored with that end closed).
        rec.kind = FdKind::Inherited;
        rec.pipe_id = 0;
      }
}

Result<void> write_pipe_data(DumpContext& ctx, const FdTableRecord& table, std::set<uint64_t>& done) {
  for (const FdRecord& rec : table.fds) {
    // (A named FIFO can be read through any of its ends: opening it again for reading.)
    bool readable = (rec.kind == FdKind::Pipe && (rec.flags & O_ACCMODE) != O_WRONLY) || rec.kind == FdKind::Fifo;
    if (!readable || done.count(rec.pipe_id)) continue;
    done.insert(rec.pipe_id);
    // A read end of our own, and tee(): copies what is buffered without consuming it.
    Fd in(::open(format("/proc/%d/fd/%d", ctx.pid, rec.fd).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!in.valid()) return Error::os(format("opening pipe of fd %d", rec.fd));
    int size = fcntl(in.get(), F_GETPIPE_SZ);
    if (size < 0) return Error::os(format("F_GETPIPE_SZ on fd %d", rec.fd));
    int tmp[2];
    if (pipe2(tmp, O_CLOEXEC | O_NONBLOCK) != 0) return Error::os("pipe2");
    Fd tmp_r(tmp[0]), tmp_w(tmp[1]);
    if (fcntl(tmp_w.get(), F_SETPIPE_SZ, size) < size) return Error::os(format("F_SETPIPE_SZ %d for a copy of fd %d's pipe", size, rec.fd));
    std::vector<uint8_t> data;
    ssize_t n = tee(in.get(), tmp_w.get(), static_cast<size_t>(size), SPLICE_F_NONBLOCK);
    if (n < 0 && errno != EAGAIN) return Error::os(format("tee from the pipe of fd %d", rec.fd));
    if (n > 0) {
      data.resize(n);
      size_t got = 0;
      while (got < data.size()) {
        ssize_t r = read(tmp_r.get(), data.data() + got, data.size() - got);
        if (r <= 0) return Error::os("reading the copy of a pipe's contents");
        got += r;
      }
    }
    ObjectDataHeader head{rec.pipe_id, static_cast<uint32_t>(size), 0};
    CR_TRY(ctx.writer.write_section(SectionType::PipeData, ctx.pid, {{&head, sizeof head}, {data.data(), data.size()}}));
  }
  return {};
}

Result<void> classify_sockets(std::vector<std::pair<pid_t, FdTableRecord*>>& tables, bool skip_unsupported) {
  bool any = false;
  for (auto& [pid, table] : tables)
    for (const FdRecord& rec : table->fds) any |= rec.kind == FdKind::UnixSocket;
  if (!any) return {};
  auto sockets = CR_TRY(read_unix_sockets());
  std::set<uint64_t> in_image;
  for (auto& [pid, table] : tables)
    for (const FdRecord& rec : table->fds)
      if (rec.kind == FdKind::UnixSocket) in_image.insert(rec.params[2]);
  for (auto& [pid, table] : tables)
    for (FdRecord& rec : table->fds) {
      if (rec.kind != FdKind::UnixSocket) continue;
      uint64_t ino = rec.params[2];
      auto it = sockets.find(ino);
      if (it == sockets.end()) {
        // Not a unix socket (TCP, UDP, netlink...): on stdin/stdout/stderr it stands for
        // the outside world and is replaced by cr_restart's (BLCR); elsewhere it cannot
        // be restored.
        if (rec.fd <= 2) {
          rec.kind = FdKind::Inherited;
          rec.params.clear();
          continue;
        }
        Error e = Error::unsupported(format("process %d, fd %d (%s): only unix sockets are supported", pid, rec.fd, rec.path.c_str()));
        if (!skip_unsupported) return e;
        skip(rec, e);
        continue;
      }
      const UnixSocketInfo& info = it->second;
      constexpr int kEstablished = 1, kListen = 10, kClose = 7;
      if (info.state == kEstablished && info.peer && !in_image.count(info.peer)) {
        rec.kind = FdKind::Inherited;  // connected to a process outside the image (BLCR)
        rec.params.clear();
        continue;
      }
      std::optional<Error> refused;
      if (info.state == kListen && info.pending_connections)
        refused = Error::unsupported(format("process %d, fd %d: listening socket with %zu connections not yet accepted", pid,
                                            rec.fd, info.pending_connections));
      else if (info.state != kEstablished && info.state != kListen && info.state != kClose)
        refused = Error::unsupported(format("process %d, fd %d: unix socket in state %d", pid, rec.fd, info.state));
      if (refused) {
        if (!skip_unsupported) return *refused;
        skip(rec, *refused);
        continue;
      }
      // A connected socket whose peer was closed keeps what was queued for it: restored as
      // one end of a new pair whose other end is closed after refilling.
      rec.params = {static_cast<uint64_t>(info.type), static_cast<uint64_t>(info.state), ino, info.peer, info.wqueue};
      rec.path = info.name;
      if (!rec.path.empty() && rec.path[0] != '\0') rec.path = rec.path.c_str();  // a path: up to its NUL
    }
  return {};
}

Result<void> write_socket_data(DumpContext& ctx, const FdTableRecord& table, std::set<uint64_t>& done) {
  for (const FdRecord& rec : table.fds) {
    if (rec.kind != FdKind::UnixSocket || rec.params[1] == 10 /* listening */ || done.count(rec.params[2])) continue;
    done.insert(rec.params[2]);
    auto messages = CR_TRY(peek_socket_queue(ctx.pid, rec.fd, static_cast<int>(rec.params[0])), "fd %d", rec.fd);
    if (messages.empty()) continue;
    std::vector<uint8_t> payload;
    ObjectDataHeader head{rec.params[2], static_cast<uint32_t>(messages.size()), 0};
    payload.insert(payload.end(), reinterpret_cast<uint8_t*>(&head), reinterpret_cast<uint8_t*>(&head) + sizeof head);
    for (auto& m : messages) {
      uint32_t len = m.bytes.size(), name_len = m.sender.size();
      payload.insert(payload.end(), reinterpret_cast<uint8_t*>(&len), reinterpret_cast<uint8_t*>(&len) + 4);
      payload.insert(payload.end(), reinterpret_cast<uint8_t*>(&name_len), reinterpret_cast<uint8_t*>(&name_len) + 4);
      payload.insert(payload.end(), m.sender.begin(), m.sender.end());
      payload.insert(payload.end(), m.bytes.begin(), m.bytes.end());
    }
    CR_TRY(ctx.writer.write_section(SectionType::SocketData, ctx.pid, {{payload.data(), payload.size()}}));
  }
  return {};
}

}  // namespace crest
