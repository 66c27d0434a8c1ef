// Process state crest does not restore yet, found at checkpoint so that it is refused by
// name instead of quietly lost: AIO contexts, a
// pending time namespace, capabilities other than a restart gives. Each is an
// Unsupported error (exit 95) naming the process (thread, fd) and what, or with
// --skip-unsupported a warning, and the checkpoint goes on without it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "sys/procfs.h"

namespace crest {

// Runs every check of the table on one frozen process (threads: its tids; maps: its areas).
Result<void> check_unsupported_state(pid_t pid, const std::vector<pid_t>& threads, const std::vector<MapsEntry>& maps,
                                     bool skip_unsupported);

// `what` (naming its process) as an Unsupported error, or with skip_unsupported as a
// warning "leaving out ...".
Result<void> refuse_unsupported(const std::string& what, bool skip_unsupported);

}  // namespace crest
