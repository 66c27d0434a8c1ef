#include "checkpoint/frozen_tree.h"

#include <algorithm>
#include <set>

#include "sys/procfs.h"

namespace crest {

Result<FrozenTree> FrozenTree::freeze(pid_t root, bool with_descendants) {
  FrozenTree tree;
  tree.processes_.push_back(CR_TRY(FrozenProcess::freeze(root)));
  if (!with_descendants) return tree;
  std::set<pid_t> frozen{root};
  // Breadth-first, so parents come before their children; repeated until stable.
  for (int round = 0;; ++round) {
    bool found = false;
    for (size_t i = 0; i < tree.processes_.size(); ++i) {
      pid_t parent = tree.processes_[i].pid();
      for (pid_t child : list_children(parent)) {
        if (frozen.count(child)) continue;
        found = true;
        auto fp = FrozenProcess::freeze(child);
        if (!fp) {
          if (fp.error().kind() == ErrorKind::TraceeGone || fp.error().error_number() == ESRCH) continue;  // exited meanwhile
          return fp.error().context(format("child %d of %d", child, parent));
        }
        frozen.insert(child);
        tree.processes_.push_back(std::move(*fp));
      }
    }
    if (!found) break;
    if (round > 1000) return Error::os(format("the tree of %d keeps changing; cannot freeze it", root), EAGAIN);
  }
  return tree;
}

Result<void> FrozenTree::thaw() {
  Result<void> first;
  // Children first: a parent that runs on finds its children as they were.
  for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) {
    auto r = it->thaw();
    if (!r && first) first = r;
  }
  return first;
}

void FrozenTree::kill_now() {
  for (auto& p : processes_) p.kill_now();
}

}  // namespace crest
