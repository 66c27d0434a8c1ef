#include "attrs/timer_slack.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base/format.h"

namespace crest {

Result<void> TimerSlack::read(const ThreadProbe& probe, Record& rec) {
  uint64_t slack = CR_TRY(probe.prctl_value("prctl(PR_GET_TIMERSLACK)", PR_GET_TIMERSLACK));
  rec.add(probe, slack);
  return {};
}

Result<void> TimerSlack::restore(const RestoreTarget& target, const Record& rec) {
  return rec.restore_each(target, kName, [](const RestoreThread& t, uint64_t slack) -> Result<void> {
    if (slack == 0) return {};  // real-time: the kernel ignores the call
    CR_TRY(t.sys->call("prctl(PR_SET_TIMERSLACK)", SYS_prctl, {PR_SET_TIMERSLACK, slack}));
    return {};
  });
}

}  // namespace crest
