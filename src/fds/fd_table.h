// The file descriptor table of each process: the only code that walks a process's fds.
// It reads every descriptor, asks the table of kinds (fd_kind.h) which kind it is, and
// calls that kind's unit at each step of a checkpoint and a restart.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "fds/fd_kind.h"
#include "fds/pty.h"
#include "image/image_reader.h"
#include "records/fd_record.h"

namespace crest {

struct DumpContext;
struct PreparedFd;
struct ProcessImage;
struct RestoreOptions;
struct StubSession;

// --- checkpoint (fd_table_dump.cc) ---

// The table of `pid` (frozen): every fd with its kind and payload. skip_unsupported:
// a descriptor crest cannot restore is kept as Skipped (with a warning) instead of
// failing the checkpoint.
Result<FdTableRecord> collect_fds(pid_t pid, bool skip_unsupported);
// Once every process is read: open file descriptions shared across processes (kcmp),
// then each kind's cross-process pass (pipes and sockets leading outside the image...).
Result<void> resolve_fds(FdTables& tables, bool skip_unsupported);
// The data sections of this process's fds (deleted files' contents, pipes' buffered
// bytes, sockets' queues); objects already in `saved` are not written again.
Result<void> write_fd_data(DumpContext& ctx, const FdTableRecord& table, SavedObjects& saved);

// --- restart (fd_table_restore.cc) ---

// The pipes of the image, made anew in cr_restart with their size and contents. Named
// FIFOs are in it too: `read` holds the FIFO open O_RDWR, `write` is a dup of it.
struct LocalPipe {
  Fd read, write;
  bool read_used = false, write_used = false;
};
using PipeSet = std::map<uint64_t, LocalPipe>;  // pipe_id ->
// The unix sockets of the image, by inode.
using SocketSet = std::map<uint64_t, Fd>;
// libcr's channels (FdKind::LibcrChannel, docs/libcr.md "Restart"): our end of each
// restored process's new channel, by saved pid, with the restart's Result already in it.
using LibcrChannels = std::map<pid_t, Fd>;

// Objects made once for the whole image, before any process's fds are opened.
struct SharedFiles {
  PipeSet pipes;
  SocketSet sockets;
  LibcrChannels& channels;
  std::map<uint32_t, LocalPty> ptys = {};  // saved pty index -> the new pair (fds/pty.h)
  std::map<uint64_t, Fd> deleted = {};     // saved inode -> the file made again (fds/deleted_file.h)
};

// FileData, PipeData and SocketData sections, into `image`. Returns false for a section
// of another type.
Result<bool> read_fd_data_section(const Section& s, ProcessImage& image);
// Every kind's shared objects (pipes refilled, sockets paired and refilled...).
Result<void> make_shared_files(const std::vector<const ProcessImage*>& images, const RestoreOptions& options,
                               SharedFiles& shared);
// Opens every descriptor of `image` in cr_restart. `earlier` maps (pid, fd) of processes
// prepared before to their local descriptors, for open file descriptions shared across
// processes.
using PreparedMap = std::map<std::pair<pid_t, int>, int>;
Result<std::vector<PreparedFd>> prepare_fds(const ProcessImage& image, const RestoreOptions& options, const PreparedMap& earlier,
                                            SharedFiles& shared);
void close_prepared(std::vector<PreparedFd>& fds);
// In the restored process, once its fds are in place: close-on-exec flags, then what each
// kind does from inside (epoll registrations).
Result<void> restore_fds_in_process(StubSession& s, const ProcessImage& image);
// cr_restart_info.src: the image's canonical path when it is read from a file, "" otherwise.
std::string restart_source(const RestoreOptions& options);

// --- cr_info ---
Result<void> print_fd_table(const FdTableRecord& table, std::string& out, int indent);

}  // namespace crest
