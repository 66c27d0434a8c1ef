// The table of descriptor kinds. Every kind is one unit in src/fds/<kind>.h/.cc: its
// typed payload record, how it is recognised, dumped, reopened at restart and printed,
// side by side, and published as one FdKindOps (as the kernel's file_operations or
// CRIU's per-type file ops). The dump loop (fd_table_dump.cc) and the restore loop
// (fd_table_restore.cc) walk the table; they know no kind by name.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <map>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "image/codec.h"
#include "image/format.h"
#include "records/fd_record.h"

namespace crest {

struct DumpContext;
struct ProcessImage;
struct RestoreOptions;
struct StubSession;
struct SharedFiles;

// /proc/PID/fdinfo/FD as "key" -> "rest of the line"; epoll's "tfd:" lines are kept in
// order in `tfd_lines`, and the "lock:" lines (what follows "lock:") in `lock_lines`.
struct FdInfo {
  std::map<std::string, std::string> fields;
  std::vector<std::string> tfd_lines;
  std::vector<std::string> lock_lines;
  std::string get(const char* key) const;
};
Result<FdInfo> read_fdinfo(pid_t pid, int fd);
// The fd numbers open in `pid`, in order.
Result<std::vector<int>> list_fds(pid_t pid);

// What the dumper knows of one descriptor before its kind is decided.
struct FdFacts {
  pid_t pid = 0;
  int fd = -1;
  std::string target;  // readlink of /proc/PID/fd/FD
  struct stat st {};   // stat() through that link: the open file's inode
  FdInfo info;
};

// Every process's table, for the passes that need them all (pipes with both ends in the
// image, socket peers, files shared across processes).
using FdTables = std::vector<std::pair<pid_t, FdTableRecord*>>;
// Objects whose data sections are written (a pipe's bytes once, whichever end comes first):
// (section type, object id).
using SavedObjects = std::set<std::pair<SectionType, uint64_t>>;

// What one kind's restore needs for one process.
struct FdOpenContext {
  const ProcessImage& image;
  const RestoreOptions& options;
  SharedFiles& shared;
  std::string path;  // the record's path, relocated (cr_restart --relocate)
};

struct FdKindOps {
  FdKind kind;
  const char* name;  // for messages and docs: "eventfd", "unix socket"
  // --- checkpoint (fd_table_dump.cc) ---
  // Whether a descriptor is of this kind. The table is tried in its order and the first
  // kind that says yes dumps it. nullptr: never found this way (another pass assigns it).
  bool (*detect)(const FdFacts&) = nullptr;
  // Fills the record's payload (and may adjust its path or position). An Unsupported
  // error is the descriptor refused by name (or skipped with --skip-unsupported).
  Result<void> (*dump)(const FdFacts&, FdRecord&) = nullptr;
  // Once every process's table is read: decides across processes (may change kinds).
  Result<void> (*resolve)(FdTables&, bool skip_unsupported) = nullptr;
  // Writes the data sections of the record's object (each object once).
  Result<void> (*write_data)(DumpContext&, const FdRecord&, SavedObjects&) = nullptr;
  // --- restart (fd_table_restore.cc) ---
  // Objects shared by several fds or processes, made once before any fd is opened.
  Result<void> (*make_shared)(const std::vector<const ProcessImage*>&, const RestoreOptions&, SharedFiles&) = nullptr;
  // The open file, in cr_restart (close-on-exec; put at its number in the stub later).
  // nullptr: nothing to open, the fd is closed in the restored process.
  Result<Fd> (*open)(FdOpenContext&, const FdRecord&) = nullptr;
  // Inside the restored process, once every fd is at its number (injected syscalls);
  // not for an fd that shares an earlier one's open file description.
  Result<void> (*in_process)(StubSession&, const ProcessImage&, const FdRecord&) = nullptr;
  // --- cr_info ---
  Result<void> (*print)(const FdRecord&, std::string& out, int indent) = nullptr;
};

// The table, in detection order (fd_kinds.cc).
std::span<const FdKindOps* const> fd_kinds();
// The entry of `kind`; nullptr for a number no kind has (a corrupt image).
const FdKindOps* fd_kind_ops(FdKind kind);
const char* fd_kind_name(FdKind kind);

// Each kind's entry, defined in its unit.
extern const FdKindOps kRegularFileKind, kDirectoryKind, kDeviceKind, kDeletedFileKind, kTerminalKind, kInheritedKind,
    kPipeKind, kFifoKind, kEventFdKind, kSignalFdKind, kTimerFdKind, kEpollKind, kUnixSocketKind, kInotifyKind,
    kSkippedKind, kLibcrChannelKind, kLibcrHandleKind, kOPathKind, kPtyMasterKind, kPtySlaveKind, kTcpSocketKind,
    kInetDgramSocketKind, kNetlinkSocketKind, kPacketSocketKind, kPidfdKind;

// --- payload helpers for the units ---

// A kind without a payload of its own.
struct NoPayload {
  template <class V> void fields(V&) {}
};

template <class R>
void set_payload(FdRecord& rec, FdKind kind, const R& payload) {
  rec.kind = kind;
  rec.payload = encode_record(payload);
}

template <class R>
Result<R> payload_of(const FdRecord& rec) {
  auto r = decode_record<R>(rec.payload, "FdRecord payload");
  if (!r) return r.error().context(format("fd %d (%s)", rec.fd, fd_kind_name(rec.kind)));
  return r;
}

template <class R>
Result<void> print_payload(const FdRecord& rec, std::string& out, int indent) {
  R r = CR_TRY(payload_of<R>(rec));
  Printer p(out, indent);
  r.fields(p);
  return {};
}

}  // namespace crest
