#include "attrs/dumpable.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base/format.h"

namespace crest {

Result<void> Dumpable::read(const ThreadProbe& probe, Record& rec) {
  if (!probe.leader) return {};
  rec.value = static_cast<uint32_t>(CR_TRY(probe.prctl_value("prctl(PR_GET_DUMPABLE)", PR_GET_DUMPABLE)));
  if (rec.value > 1) CR_TRY(probe.refuse(format("dumpable %u (suid_dumpable) cannot be restored", rec.value)));
  return {};
}

Result<void> Dumpable::restore(const RestoreTarget& target, const Record& rec) {
  uint64_t now = CR_TRY(target.leader().call("prctl(PR_GET_DUMPABLE)", SYS_prctl, {PR_GET_DUMPABLE}));
  if (now == rec.value || rec.value > 1) return {};
  CR_TRY(target.leader().call("prctl(PR_SET_DUMPABLE)", SYS_prctl, {PR_SET_DUMPABLE, rec.value}));
  return {};
}

}  // namespace crest
