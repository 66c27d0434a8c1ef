#include "attrs/keepcaps.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base/format.h"

namespace crest {

Result<void> KeepCaps::read(const ThreadProbe& probe, Record& rec) {
  uint64_t keep = CR_TRY(probe.prctl_value("prctl(PR_GET_KEEPCAPS)", PR_GET_KEEPCAPS));
  rec.add(probe, static_cast<uint8_t>(keep != 0));
  return {};
}

Result<void> KeepCaps::restore(const RestoreTarget& target, const Record& rec) {
  return rec.restore_each(target, kName, [](const RestoreThread& t, uint8_t keep) -> Result<void> {
    if (!keep) return {};
    CR_TRY(t.sys->call("prctl(PR_SET_KEEPCAPS)", SYS_prctl, {PR_SET_KEEPCAPS, 1}));
    return {};
  });
}

}  // namespace crest
