// What the dump units share for one process.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <functional>
#include <map>
#include <set>

#include "image/compression.h"
#include "image/image_writer.h"
#include "ptrace/tracee.h"
#include "records/fd_record.h"
#include "records/memory_record.h"
#include "records/sysv_ipc_record.h"
#include "sys/procfs.h"

namespace crest {

struct DumpContext {
  pid_t pid;
  ImageWriter& writer;
};

// memory_dump.cc
// File mappings whose contents go into the image instead of being mapped from the file
// at restart (BLCR's CR_CHKPT_DUMP_EXEC / _PRIVATE / _SHARED; cr_checkpoint --save-*).
struct SaveContents {
  bool exe = false;            // private mappings of the process's executable
  bool private_files = false;  // every private file mapping (executable, libraries, data files)
  bool shared_files = false;   // shared file mappings
};
// mapped_files.cc: the identity of the file `path` that area `m` of `pid` maps.
Result<MappedFileRecord> mapped_file_identity(pid_t pid, const MapsEntry& m, const std::string& path);
Result<MemoryMapRecord> collect_memory_map(pid_t pid, const std::vector<MapsEntry>& maps, const SaveContents& save = {});
// object_id -> offset ranges of shared memory objects already saved
using SharedObjectsSaved = std::map<uint64_t, std::vector<std::pair<uint64_t, uint64_t>>>;

// fd_dump.cc: the table, and FileData sections for deleted files (written by write_fd_data).
// skip_unsupported: kinds crest cannot restore are kept as Skipped (with a warning)
// instead of failing the checkpoint.
Result<FdTableRecord> collect_fds(pid_t pid, bool skip_unsupported);
Result<void> write_fd_data(DumpContext& ctx, const FdTableRecord& table);
// Marks fds of different processes that share one open file description (kcmp).
void link_shared_files(std::vector<std::pair<pid_t, FdTableRecord*>>& tables);
// Pipes with both ends in the image stay Pipe; the others become Inherited.
void classify_pipes(std::vector<std::pair<pid_t, FdTableRecord*>>& tables);
// PipeData sections for the pipes this process has a read end of (each pipe once).
Result<void> write_pipe_data(DumpContext& ctx, const FdTableRecord& table, std::set<uint64_t>& done);

// Unix sockets with their peer in the image (or listening, or unconnected datagram) stay
// UnixSocket; one connected outside becomes Inherited; any other socket fails (fd > 2).
Result<void> classify_sockets(std::vector<std::pair<pid_t, FdTableRecord*>>& tables, bool skip_unsupported);
// SocketData sections: what is queued for reading on each socket of this process.
Result<void> write_socket_data(DumpContext& ctx, const FdTableRecord& table, std::set<uint64_t>& done);

// fifo_dump.cc: a FIFO fd whose /proc link is a path is a named FIFO (FdKind::Fifo).
bool is_named_fifo(const std::string& link_target);
void classify_fifo(const struct stat& st, FdRecord& rec);

// inotify_dump.cc: an inotify fd with its watches (FdKind::Inotify); fails naming pid, fd
// and wd when a watched object's path cannot be found.
Result<void> classify_inotify(pid_t pid, FdRecord& rec);

// sysv_ipc_dump.cc: the System V semaphore sets and message queues last used by a
// process of `scope` (docs/design.md), with their values and messages.
Result<SysvIpcRecord> collect_sysv_ipc(const std::set<pid_t>& scope);

// socket_dump.cc
struct UnixSocketInfo {
  int type = 0, state = 0;
  uint32_t peer = 0;          // peer's inode, 0 if none
  std::string name;           // bound name ('\0'-prefixed for the abstract namespace)
  uint32_t rqueue = 0, wqueue = 0;
  size_t pending_connections = 0;
};
// Every unix socket of this network namespace, by inode.
Result<std::map<uint64_t, UnixSocketInfo>> read_unix_sockets();
// The messages queued for reading on fd of pid (one element for a stream socket), with
// the sender's bound name for datagrams (empty if unnamed).
struct QueuedMessage {
  std::vector<uint8_t> bytes;
  std::string sender;
};
Result<std::vector<QueuedMessage>> peek_socket_queue(pid_t pid, int fd, int type);

}  // namespace crest
