// pidfds (pidfd.h).
#include "fds/pidfd.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <set>

#include "fds/fd_kind.h"
#include "fds/skipped.h"
#include "restore/restore_context.h"

namespace crest {

namespace {

bool detect_pidfd(const FdFacts& f) { return f.target == "anon_inode:[pidfd]"; }

Result<void> dump_pidfd(const FdFacts& f, FdRecord& rec) {
  std::string pid = f.info.get("Pid");
  if (pid.empty()) return Error::unsupported(format("process %d, fd %d: pidfd without a Pid in its fdinfo", f.pid, f.fd));
  PidfdRecord r;
  r.pid = static_cast<int32_t>(std::strtol(pid.c_str(), nullptr, 10));
  if (r.pid <= 0) return Error::unsupported(format("process %d, fd %d: pidfd of a process that is gone (fdinfo Pid %s)", f.pid, f.fd, pid.c_str()));
  if (rec.flags & O_EXCL) return Error::unsupported(format("process %d, fd %d: pidfd of thread %d (PIDFD_THREAD)", f.pid, f.fd, r.pid));
  set_payload(rec, FdKind::Pidfd, r);
  return {};
}

// Every pidfd must name a process of the checkpoint. Each comes back as a pidfd of its
// own: one shared by several fds (dup, fork) is not dup'ed again.
Result<void> check_pidfds(FdTables& tables, bool skip_unsupported) {
  std::set<pid_t> saved;
  for (auto& [pid, table] : tables) saved.insert(pid);
  for (auto& [pid, table] : tables)
    for (FdRecord& rec : table->fds) {
      if (rec.kind != FdKind::Pidfd) continue;
      rec.same_as = -1;
      rec.same_as_pid = 0;
      PidfdRecord r = CR_TRY(payload_of<PidfdRecord>(rec));
      if (saved.count(r.pid)) continue;
      Error why = Error::unsupported(format("process %d, fd %d: pidfd of process %d, which is not in the checkpoint", pid, rec.fd, r.pid));
      if (!skip_unsupported) return why;
      skip_fd(rec, why);
    }
  return {};
}

// pidfd_open of the process's restored pid, moved to the fd's number.
Result<void> open_pidfd(StubSession& s, const ProcessImage& image, const FdRecord& rec) {
  PidfdRecord r = CR_TRY(payload_of<PidfdRecord>(rec));
  static const std::map<pid_t, pid_t> kNone;
  const std::map<pid_t, pid_t>& pids = s.restored_pids ? *s.restored_pids : kNone;
  auto found = pids.find(r.pid);
  if (found == pids.end())
    return Error::corrupt(format("process %d, fd %d: pidfd of process %d, which is not restored", image.process.pid, rec.fd, r.pid));
  const pid_t now = found->second;
  uint64_t flags = (rec.flags & O_NONBLOCK) ? O_NONBLOCK : 0;  // PIDFD_NONBLOCK
  uint64_t fd = CR_TRY(s.sys.call("pidfd_open", SYS_pidfd_open, {static_cast<uint64_t>(now), flags}), "fd %d: pidfd of process %d", rec.fd, now);
  if (fd == static_cast<uint64_t>(rec.fd)) {
    if (!rec.cloexec) CR_TRY(s.sys.call("fcntl(F_SETFD)", SYS_fcntl, {fd, F_SETFD, 0}));
    return {};
  }
  auto moved = s.sys.call("dup3", SYS_dup3, {fd, static_cast<uint64_t>(rec.fd), rec.cloexec ? static_cast<uint64_t>(O_CLOEXEC) : 0});
  CR_TRY(s.sys.call("close", SYS_close, {fd}));
  if (!moved) return moved.error().context(format("fd %d: pidfd of process %d", rec.fd, now));
  return {};
}

}  // namespace

const FdKindOps kPidfdKind{
    .kind = FdKind::Pidfd,
    .name = "pidfd",
    .detect = detect_pidfd,
    .dump = dump_pidfd,
    .resolve = check_pidfds,
    .in_process = open_pidfd,
    .print = print_payload<PidfdRecord>,
};

}  // namespace crest
