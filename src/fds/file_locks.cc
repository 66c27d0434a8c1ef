// File locks (file_locks.h).
#include "fds/file_locks.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/syscall.h>

#include <cstdint>
#include <sstream>

#include "attrs/unsupported_state.h"
#include "base/format.h"
#include "restore/restore_context.h"

namespace crest {

const char* file_lock_kind_name(FileLockKind kind) {
  switch (kind) {
    case FileLockKind::Posix: return "POSIX";
    case FileLockKind::Ofd: return "OFD";
    case FileLockKind::Flock: return "flock";
    case FileLockKind::Lease: return "lease";
  }
  return "unknown";
}

namespace {

// One line: "1: POSIX  ADVISORY  WRITE 1234 00:1f:5678 0 EOF" (fs/locks.c
// lock_get_status): kind, state (ADVISORY; for leases ACTIVE, BREAKING or BREAKER), access,
// owner pid, device:inode, first and last byte (EOF: to the end of the file).
struct LockLine {
  std::string kind, state, access, first, last;
};

bool split_lock_line(const std::string& line, LockLine& out) {
  std::istringstream words(line);
  std::string id, pid, inode;
  return static_cast<bool>(words >> id >> out.kind >> out.state >> out.access >> pid >> inode >> out.first >> out.last);
}

// The lock of one line; an error string when it cannot be taken again.
Result<FileLockRecord> lock_of(const LockLine& l) {
  FileLockRecord lock;
  if (l.kind == "POSIX") lock.kind = FileLockKind::Posix;
  else if (l.kind == "OFDLCK") lock.kind = FileLockKind::Ofd;
  else if (l.kind == "FLOCK") lock.kind = FileLockKind::Flock;
  else if (l.kind == "LEASE" && l.state == "ACTIVE") lock.kind = FileLockKind::Lease;
  else if (l.kind == "LEASE") return Error::unsupported(format("a lease being broken (%s %s)", l.state.c_str(), l.access.c_str()));
  else return Error::unsupported(format("a %s lock (%s %s)", l.kind.c_str(), l.state.c_str(), l.access.c_str()));
  if (l.access != "READ" && l.access != "WRITE")
    return Error::unsupported(format("a %s lock of access %s", file_lock_kind_name(lock.kind), l.access.c_str()));
  lock.write = l.access == "WRITE";
  if (lock.kind == FileLockKind::Posix || lock.kind == FileLockKind::Ofd) {
    lock.start = std::strtoull(l.first.c_str(), nullptr, 10);
    if (l.last != "EOF") {
      uint64_t last = std::strtoull(l.last.c_str(), nullptr, 10);
      if (last < lock.start) return Error::corrupt(format("lock range %s-%s out of order", l.first.c_str(), l.last.c_str()));
      lock.length = last - lock.start + 1;
    }
  }
  return lock;
}

std::string describe(const FileLockRecord& lock) {
  std::string what = format("%s %s lock", file_lock_kind_name(lock.kind), lock.write ? "write" : "read");
  if (lock.kind == FileLockKind::Posix || lock.kind == FileLockKind::Ofd) {
    if (lock.length) what += format(" on bytes %llu-%llu", (unsigned long long)lock.start, (unsigned long long)(lock.start + lock.length - 1));
    else what += format(" from byte %llu to the end", (unsigned long long)lock.start);
  }
  return what;
}

}  // namespace

Result<std::vector<FileLockRecord>> parse_file_locks(const std::vector<std::string>& lock_lines, const std::string& where,
                                                     bool skip_unsupported) {
  std::vector<FileLockRecord> locks;
  for (const std::string& line : lock_lines) {
    LockLine l;
    if (!split_lock_line(line, l)) return Error::corrupt(format("%s: unreadable fdinfo lock line \"%s\"", where.c_str(), line.c_str()));
    auto lock = lock_of(l);
    if (lock) {
      locks.push_back(*lock);
      continue;
    }
    if (lock.error().kind() != ErrorKind::Unsupported) return lock.error().context(where);
    CR_TRY(refuse_unsupported(format("%s: %s", where.c_str(), lock.error().message().c_str()), skip_unsupported));
  }
  return locks;
}

Result<void> retake_file_locks(StubSession& s, const FdRecord& rec) {
  const uint64_t fd = static_cast<uint64_t>(rec.fd);
  for (const FileLockRecord& lock : rec.locks) {
    Result<uint64_t> done = uint64_t{0};
    const short type = lock.write ? F_WRLCK : F_RDLCK;
    switch (lock.kind) {
      case FileLockKind::Posix:
      case FileLockKind::Ofd: {
        struct flock fl {};
        fl.l_type = type;
        fl.l_whence = SEEK_SET;
        fl.l_start = static_cast<off_t>(lock.start);
        fl.l_len = static_cast<off_t>(lock.length);
        CR_TRY(s.tracee.write_memory(s.scratch, &fl, sizeof fl));
        const uint64_t cmd = lock.kind == FileLockKind::Posix ? F_SETLK : F_OFD_SETLK;
        done = s.sys.call(lock.kind == FileLockKind::Posix ? "fcntl(F_SETLK)" : "fcntl(F_OFD_SETLK)", SYS_fcntl, {fd, cmd, s.scratch});
        break;
      }
      case FileLockKind::Flock:
        done = s.sys.call("flock", SYS_flock, {fd, static_cast<uint64_t>((lock.write ? LOCK_EX : LOCK_SH) | LOCK_NB)});
        break;
      case FileLockKind::Lease:
        done = s.sys.call("fcntl(F_SETLEASE)", SYS_fcntl, {fd, F_SETLEASE, static_cast<uint64_t>(type)});
        break;
      default: return Error::corrupt(format("fd %d: unknown lock kind %u", rec.fd, static_cast<unsigned>(lock.kind)));
    }
    if (!done) return done.error().context(format("fd %d (%s): taking its %s again", rec.fd, rec.path.c_str(), describe(lock).c_str()));
  }
  return {};
}

}  // namespace crest
