// File owner and signal (file_owner.h).
#include "fds/file_owner.h"

#include <fcntl.h>
#include <sys/syscall.h>

#include <set>
#include <utility>

#include "attrs/unsupported_state.h"
#include "base/format.h"
#include "restore/restore_context.h"
#include "sys/io.h"

namespace crest {

Result<FileOwnerRecord> read_file_owner(pid_t pid, int fd) {
  FileOwnerRecord out;
  Fd dup = CR_TRY(dup_target_fd(pid, fd));
  f_owner_ex owner{};
  if (fcntl(dup.get(), F_GETOWN_EX, &owner) != 0) return Error::os(format("fd %d: fcntl(F_GETOWN_EX)", fd));
  int sig = fcntl(dup.get(), F_GETSIG);
  if (sig < 0) return Error::os(format("fd %d: fcntl(F_GETSIG)", fd));
  out.signal = sig;
  out.owner_type = owner.type;
  out.owner_pid = owner.pid;
  return out;
}

namespace {

// The open file description of an fd: (pid, fd) of the first fd that has it.
std::pair<pid_t, int> description_of(pid_t pid, const FdRecord& rec) {
  if (rec.same_as < 0) return {pid, rec.fd};
  return {rec.same_as_pid ? rec.same_as_pid : pid, rec.same_as};
}

}  // namespace

Result<void> check_file_owners(FdTables& tables, bool skip_unsupported) {
  std::set<std::pair<pid_t, std::pair<pid_t, int>>> holders;  // (process, description) pairs
  for (auto& [pid, table] : tables)
    for (const FdRecord& rec : table->fds) holders.insert({pid, description_of(pid, rec)});
  for (auto& [pid, table] : tables)
    for (FdRecord& rec : table->fds) {
      FileOwnerRecord& o = rec.owner;
      if (o.owner_pid == 0) continue;
      bool ok = (o.owner_type == F_OWNER_PID || o.owner_type == F_OWNER_TID) && holders.count({o.owner_pid, description_of(pid, rec)});
      if (ok) continue;
      const char* type = o.owner_type == F_OWNER_PGRP ? "process group" : o.owner_type == F_OWNER_TID ? "thread" : "process";
      CR_TRY(refuse_unsupported(format("process %d, fd %d (%s): its owner for SIGIO (F_SETOWN) is %s %d, not a process of the "
                                       "checkpoint that has this file open",
                                       pid, rec.fd, rec.path.c_str(), type, o.owner_pid),
                                skip_unsupported));
      o.owner_pid = 0;
    }
  return {};
}

Result<void> restore_file_owner(StubSession& s, const FdRecord& rec, pid_t saved_pid, pid_t pid) {
  const FileOwnerRecord& o = rec.owner;
  const uint64_t fd = static_cast<uint64_t>(rec.fd);
  if (o.owner_pid != 0 && o.owner_pid == saved_pid) {
    f_owner_ex owner{o.owner_type == F_OWNER_TID ? F_OWNER_TID : F_OWNER_PID, pid};
    CR_TRY(s.tracee.write_memory(s.scratch, &owner, sizeof owner));
    CR_TRY(s.sys.call("fcntl(F_SETOWN_EX)", SYS_fcntl, {fd, F_SETOWN_EX, s.scratch}), "fd %d", rec.fd);
  }
  if (o.signal) CR_TRY(s.sys.call("fcntl(F_SETSIG)", SYS_fcntl, {fd, F_SETSIG, static_cast<uint64_t>(o.signal)}), "fd %d", rec.fd);
  if (rec.flags & O_ASYNC) {
    uint64_t flags = CR_TRY(s.sys.call("fcntl(F_GETFL)", SYS_fcntl, {fd, F_GETFL}), "fd %d", rec.fd);
    CR_TRY(s.sys.call("fcntl(F_SETFL, O_ASYNC)", SYS_fcntl, {fd, F_SETFL, flags | O_ASYNC}), "fd %d", rec.fd);
  }
  return {};
}

}  // namespace crest
