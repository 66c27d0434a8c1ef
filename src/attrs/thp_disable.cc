#include "attrs/thp_disable.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base/format.h"

namespace crest {

Result<void> ThpDisable::read(const ThreadProbe& probe, Record& rec) {
  if (!probe.leader) return {};
  rec.value = static_cast<uint32_t>(CR_TRY(probe.prctl_value("prctl(PR_GET_THP_DISABLE)", PR_GET_THP_DISABLE)));
  return {};
}

Result<void> ThpDisable::restore(const RestoreTarget& target, const Record& rec) {
  if (rec.value == 0) return {};
  constexpr uint64_t kExceptAdvised = 1u << 1;  // PR_THP_DISABLE_EXCEPT_ADVISED
  CR_TRY(target.leader().call("prctl(PR_SET_THP_DISABLE)", SYS_prctl, {PR_SET_THP_DISABLE, 1, rec.value & kExceptAdvised, 0, 0}));
  return {};
}

}  // namespace crest
