#include "attrs/no_new_privs.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base/format.h"

namespace crest {

Result<void> NoNewPrivs::read(const ThreadProbe& probe, Record& rec) {
  uint64_t set = CR_TRY(probe.prctl_value("prctl(PR_GET_NO_NEW_PRIVS)", PR_GET_NO_NEW_PRIVS));
  rec.add(probe, static_cast<uint8_t>(set != 0));
  return {};
}

Result<void> NoNewPrivs::restore(const RestoreTarget& target, const Record& rec) {
  return rec.restore_each(target, kName, [](const RestoreThread& t, uint8_t set) -> Result<void> {
    if (!set) return {};
    CR_TRY(t.sys->call("prctl(PR_SET_NO_NEW_PRIVS)", SYS_prctl, {PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0}));
    return {};
  });
}

}  // namespace crest
