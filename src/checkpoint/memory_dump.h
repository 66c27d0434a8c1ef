// The pages of every process of a checkpoint, in one pipeline (memory_dump.cc).
#pragma once

#include <sys/types.h>

#include <functional>
#include <vector>

#include "base/result.h"
#include "image/compression.h"
#include "image/image_writer.h"
#include "ptrace/tracee.h"
#include "records/memory_record.h"

namespace crest {

struct ProcessPages {
  pid_t pid;
  const Tracee* tracee;  // frozen; its /proc/PID/mem is read, no ptrace request is made
  const MemoryMapRecord* map;
  // A `syscall` instruction in the process (InjectionArea::create), for the direct path
  // (direct_pages.h); 0: none known, the pages take the buffered path.
  uint64_t gadget = 0;
  bool gadget_borrowed = false;
};

struct TreePagesOptions {
  Compression compression = {};
  // Reader threads: each reads one process at a time (the next one not yet taken), so
  // the processes of a tree are read concurrently; 0 = one per online CPU but the
  // writer's (at least 1, at most 3), or CREST_DUMP_READERS from the environment.
  size_t readers = 0;
  std::function<void(uint64_t)> progress;  // bytes queued so far (called under a lock)
  std::function<bool()> cancelled;
  // Large runs of private pages go through DirectPages (one copy per byte) where the image
  // is a regular file and uncompressed; CREST_DIRECT_PAGES=0 in the environment turns it
  // off (for measurements and tests of the buffered path).
  bool direct = true;
};

// Writes the MemoryPages sections of every process (sections of different processes
// interleave in the stream; restore takes them in any order). Shared memory objects are
// saved once, by whichever process reaches them first. Returns the pages written.
Result<uint64_t> write_tree_memory_pages(ImageWriter& writer, const std::vector<ProcessPages>& processes,
                                         const TreePagesOptions& options);

}  // namespace crest
