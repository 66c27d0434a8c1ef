// FdKind::Skipped: a descriptor crest cannot restore, left out on request
// (--skip-unsupported): it has no payload and is closed in the restored process.
#pragma once

#include "base/result.h"
#include "records/fd_record.h"

namespace crest {

// Makes `rec` Skipped, with a warning naming why.
void skip_fd(FdRecord& rec, const Error& why);

}  // namespace crest
