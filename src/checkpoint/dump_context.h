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

// sysv_ipc_dump.cc: the System V semaphore sets and message queues last used by a
// process of `scope` (docs/design.md), with their values and messages.
Result<SysvIpcRecord> collect_sysv_ipc(const std::set<pid_t>& scope);

}  // namespace crest
