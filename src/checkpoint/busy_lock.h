// BusyLocks: "this process is part of a checkpoint or restart" (docs/libcr.md step 1).
// One abstract unix socket "\0crest-busy/PID" bound (and listening) per process; a
// second checkpoint or restart that tries to bind the same name fails with EADDRINUSE,
// which becomes EBUSY (BLCR's overlap rule) when the holder could checkpoint the process
// itself: its credentials (SO_PEERCRED, by connecting) are root's, ours, or the
// process's own user's. Any user may bind an abstract name, so a name held by anyone
// else (or not listening, as crest's never is) does not count (docs/design.md, "Trust").
// The kernel drops the names when the holder exits, so a crash never leaves a process
// locked.
#pragma once

#include <sys/types.h>

#include <map>

#include "base/fd.h"
#include "base/result.h"

namespace crest {

class BusyLocks {
 public:
  BusyLocks() = default;
  BusyLocks(BusyLocks&&) = default;
  BusyLocks& operator=(BusyLocks&&) = default;

  // Takes the lock of pid (nothing if we hold it already). EBUSY naming pid if another
  // checkpoint or restart entitled to act on pid holds it; a squatted name is ignored
  // (pid is then not locked, and holds(pid) stays false).
  Result<void> take(pid_t pid);
  bool holds(pid_t pid) const { return locks_.count(pid) > 0; }
  void release(pid_t pid) { locks_.erase(pid); }
  void release_all() { locks_.clear(); }

 private:
  std::map<pid_t, Fd> locks_;
};

}  // namespace crest
