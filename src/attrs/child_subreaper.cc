#include "attrs/child_subreaper.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base/format.h"

namespace crest {

Result<void> ChildSubreaper::read(const ThreadProbe& probe, Record& rec) {
  if (!probe.leader) return {};
  int32_t set = CR_TRY(probe.prctl_int("prctl(PR_GET_CHILD_SUBREAPER)", PR_GET_CHILD_SUBREAPER));
  rec.value = set != 0;
  return {};
}

Result<void> ChildSubreaper::restore(const RestoreTarget& target, const Record& rec) {
  if (!rec.value) return {};
  CR_TRY(target.leader().call("prctl(PR_SET_CHILD_SUBREAPER)", SYS_prctl, {PR_SET_CHILD_SUBREAPER, 1}));
  return {};
}

}  // namespace crest
