// Process groups and sessions at restart: BLCR's RESTORE_PGID / RESTORE_SID options, each
// with or without RESTORE_PID. A restored process gets exactly the group and session the
// options ask for (the saved ones, or cr_restart's); what Linux cannot give is refused
// before any process exists, naming the group or session (EBUSY, as BLCR's "in use").
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/result.h"
#include "restore/restore_context.h"
#include "restore/restorer.h"

namespace crest {

// Before anything is made: every combination of options and saved ids that cannot be
// had (a session or group named after a pid --no-restore-pid does not keep, a session
// whose leader is not in the image, a group in another session than its members').
// Also: a group the image names must not be in use by processes outside the image.
Result<void> check_session_options(const std::vector<const ProcessImage*>& images, const RestoreOptions& options);

// Right after the process is made, before its children: setsid()/setpgid() as asked,
// then the ids read back and compared with what was asked.
Result<void> restore_session_and_group(StubSession& s, const ProcessRecord& rec, const RestoreOptions& options);

}  // namespace crest
