// Attributes of memory areas beyond their mapping: locks and madvise hints (VmaAttr),
// and the guard pages the dump refuses.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/result.h"
#include "records/memory_record.h"
#include "sys/procfs.h"

namespace crest {

// Sets the VmaAttr bits of each area of `map` from the VmFlags of its smaps entry, and
// refuses (Unsupported, naming the process and the area) an area holding guard pages
// (MADV_GUARD_INSTALL): their pages cannot be read, and the dump reads every page.
Result<void> collect_memory_attributes(pid_t pid, const std::vector<MapsEntry>& smaps, MemoryMapRecord& map);

}  // namespace crest
