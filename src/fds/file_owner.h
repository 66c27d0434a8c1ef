// The signal-driven I/O settings of an open file description, fields of every
// descriptor whatever its kind (records/fd_record.h FileOwnerRecord): its owner
// (F_SETOWN / F_SETOWN_EX), the signal sent to it (F_SETSIG) and O_ASYNC. None is in
// fdinfo: at checkpoint they are read with fcntl(F_GETOWN_EX, F_GETSIG) on a duplicate of
// the descriptor (pidfd_getfd; the settings are the open file description's). The owner
// must be a process of the image that has this open file description too (checked once
// every table is read); another owner (a process outside, a process group, a thread
// other than a main one) is refused by name. At restart each process sets the signal and
// O_ASYNC through its fd, and the owner process sets itself as owner with its pid now
// (injected fcntl).
#pragma once

#include <sys/types.h>

#include "base/result.h"
#include "fds/fd_kind.h"
#include "records/fd_record.h"

namespace crest {

struct StubSession;

// The owner and signal of fd `fd` of `pid`.
Result<FileOwnerRecord> read_file_owner(pid_t pid, int fd);

// Once every table is read and shared files are linked: refuses (or with
// skip_unsupported clears, warning) each owner that is not a process of the image sharing
// the file.
Result<void> check_file_owners(FdTables& tables, bool skip_unsupported);

// Sets them again in the restored process (saved pid `saved_pid`, its pid now `pid`).
Result<void> restore_file_owner(StubSession& s, const FdRecord& rec, pid_t saved_pid, pid_t pid);

}  // namespace crest
