// File locks (records/fd_record.h FileLockRecord), a field of every descriptor whatever
// its kind. At checkpoint they are read from the "lock:" lines of /proc/PID/fdinfo/FD:
// the kernel lists there the locks taken through that open file whose owner is that
// process (POSIX) or that open file description (OFD, flock, lease). At restart they are
// taken again by the restored process itself, through the same fd, with injected
// fcntl/flock calls, before it runs; each one is taken with the non-blocking call, so
// a lock another process took meanwhile makes the restart fail naming the fd.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "records/fd_record.h"

namespace crest {

struct StubSession;

// The locks of one fdinfo's "lock:" lines (the text after "lock:"). A lock crest cannot
// take again (a lease being broken, a delegation, a lock of an unknown kind) is refused
// by name (Unsupported), or with skip_unsupported left out with a warning. `where`
// names the process and fd in messages.
Result<std::vector<FileLockRecord>> parse_file_locks(const std::vector<std::string>& lock_lines, const std::string& where,
                                                     bool skip_unsupported);

// Takes every lock of `rec` again in the restored process, through fd rec.fd.
Result<void> retake_file_locks(StubSession& s, const FdRecord& rec);

const char* file_lock_kind_name(FileLockKind kind);

}  // namespace crest
