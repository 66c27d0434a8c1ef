// FdKind::Skipped (skipped.h).
#include "fds/skipped.h"

#include "checkpoint/cooperate.h"
#include "fds/fd_kind.h"

namespace crest {

void skip_fd(FdRecord& rec, const Error& why) {
  warn(format("leaving out %s (--skip-unsupported): it will be closed at restart", why.message().c_str()));
  rec.kind = FdKind::Skipped;
  rec.payload.clear();
}

const FdKindOps kSkippedKind{
    .kind = FdKind::Skipped,
    .name = "left out (--skip-unsupported)",
    .print = print_payload<NoPayload>,
};

}  // namespace crest
