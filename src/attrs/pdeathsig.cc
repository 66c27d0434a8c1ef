#include "attrs/pdeathsig.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base/format.h"

namespace crest {

Result<void> ParentDeathSignal::read(const ThreadProbe& probe, Record& rec) {
  int32_t sig = CR_TRY(probe.prctl_int("prctl(PR_GET_PDEATHSIG)", PR_GET_PDEATHSIG));
  rec.add(probe, sig);
  return {};
}

Result<void> ParentDeathSignal::restore(const RestoreTarget& target, const Record& rec) {
  return rec.restore_each(target, kName, [](const RestoreThread& t, int32_t sig) -> Result<void> {
    if (sig == 0) return {};
    CR_TRY(t.sys->call("prctl(PR_SET_PDEATHSIG)", SYS_prctl, {PR_SET_PDEATHSIG, static_cast<uint64_t>(sig)}));
    return {};
  });
}

}  // namespace crest
