// Restorer: one restart: read the image, grow the process out of a stub, hand it back
// running, as a child of the caller.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace crest {

struct RestoreOptions {
  int in_fd = -1;
  std::string image_name;     // for messages
  bool restore_pid = true;
  bool restore_pgid = false;  // BLCR's defaults: join cr_restart's process group and session
  bool restore_sid = false;
  std::vector<std::pair<std::string, std::string>> relocations;  // OLD -> NEW prefixes
  // Sent once the process runs (0 = none); to a process with libcr only after it
  // answered Done (its restart callbacks finished), as BLCR's restart did.
  int after_signal = 0;
  // BLCR's negative (early) restart signal (--early-stop, --early-abrt): sent when the
  // processes are released, before their restart callbacks. 0 = none.
  int early_signal = 0;
  // cr_restart_info.src for libcr: the image's canonical path. Empty: taken from in_fd
  // when that is a named file, "" for a pipe.
  std::string source_path;
  // The descriptors cr_restart was started with (not the image's): the only ones that
  // may stand in for a terminal, pipe or socket that led outside the image.
  std::vector<int> inherited_fds;
  // cr_request_restart(): the top-level restored processes become children of
  // cr_restart's parent (the caller of the API), not of cr_restart (CLONE_PARENT).
  bool as_callers_child = false;
  std::function<void(uint64_t)> progress;
  // Run on a CPU lacking features of the checkpointing one, or with mapped files that
  // changed since the checkpoint (machine_check.cc): warnings instead of refusals.
  bool allow_missing_cpu_features = false;
  bool allow_changed_files = false;
  // Restore TCP connections to a peer outside the image (cr_restart --tcp-established).
  bool tcp_established = false;
  // Trust (docs/design.md): as root, the saved ids are given only when the image is
  // root's (its owner, by fstat of in_fd unless `image_owner` says: uid, gid) or with
  // --trust-image-ids; an image of another user may hold only that user's ids.
  std::optional<std::pair<uid_t, gid_t>> image_owner;
  bool trust_image_ids = false;
};

// Returns the pid of the restored process, which is running and is our child.
Result<pid_t> restore_process(const RestoreOptions& options);

// Applies the first matching relocation (whole leading path components).
std::string relocate_path(const std::string& path, const std::vector<std::pair<std::string, std::string>>& relocations);

}  // namespace crest
