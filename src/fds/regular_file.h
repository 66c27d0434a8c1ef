// Files reopened by path at restart: FdKind::Regular (with its offset; the size and mtime
// it had, for a warning), FdKind::Directory and FdKind::Device (a character device that is
// not a terminal: /dev/null, /dev/urandom...). Their contents are not saved (as in BLCR).
#pragma once

#include <cstdint>
#include <string>

#include "base/fd.h"
#include "base/result.h"
#include "records/fd_record.h"

namespace crest {

struct RegularFileRecord {
  uint64_t size = 0;     // file size at checkpoint
  int64_t mtime_ns = 0;  // modification time at checkpoint
  template <class V> void fields(V& v) { v.field("size", size); v.field("mtime_ns", mtime_ns); }
};

// Opens `path` with the record's open flags (close-on-exec, creation flags dropped) and,
// when `seek`, at its saved offset.
Result<Fd> reopen_file(const FdRecord& rec, const std::string& path, bool seek);

}  // namespace crest
