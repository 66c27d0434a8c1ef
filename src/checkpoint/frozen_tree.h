// FrozenTree: every process of a checkpoint scope frozen, parents before children.
// Freezes in rounds until a round finds no new process (a process not yet frozen can
// fork); detaches (or kills) everything when dropped.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/result.h"
#include "checkpoint/frozen_process.h"

namespace crest {

class FrozenTree {
 public:
  // `with_descendants`: the process and all its living descendants (BLCR's --tree);
  // otherwise the process alone (--pid).
  static Result<FrozenTree> freeze(pid_t root, bool with_descendants);

  std::vector<FrozenProcess>& processes() { return processes_; }
  Result<void> thaw();
  void kill_now();

 private:
  std::vector<FrozenProcess> processes_;
};

}  // namespace crest
