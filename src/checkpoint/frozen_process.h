// FrozenProcess: every thread of one process seized and stopped. Seizes in a loop until
// no new thread appears; detaches (or kills) all of them when dropped.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/result.h"
#include "ptrace/tracee.h"

namespace crest {

class FrozenProcess {
 public:
  static Result<FrozenProcess> freeze(pid_t pid);

  pid_t pid() const { return pid_; }
  // threads()[0] is the thread-group leader.
  std::vector<Tracee>& threads() { return threads_; }
  Tracee& leader() { return threads_[0]; }

  Result<void> thaw();
  // SIGKILL while still frozen: the process runs no further instruction.
  void kill_now();

 private:
  explicit FrozenProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::vector<Tracee> threads_;
};

}  // namespace crest
