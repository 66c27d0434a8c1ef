// DirectPages: the pages of one frozen process written to the image with one copy per byte.
// The process itself vmsplices ranges of its memory into pipes (injected calls: the pages
// are referenced, not copied), crest splices the pipes into the image file (the one copy,
// into the page cache), then drops zero pages and checksums the payload where it landed,
// through a shared mapping of the image file (a read, no copy). Only for an image that is
// a regular file (ImageWriter::in_place()); pipes and compressed images take the buffered
// path (page_pipeline.h).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>

#include "base/fd.h"
#include "base/result.h"
#include "image/image_writer.h"
#include "ptrace/injection_area.h"
#include "ptrace/tracee.h"

namespace crest {

class DirectPages {
 public:
  // Maps an injection area in the process (through its leader, stopped) and makes its
  // pipes: their write ends in the process, their read ends here. `gadget`: as for
  // InjectionArea::create.
  static Result<std::unique_ptr<DirectPages>> open(ImageWriter& writer, const Tracee& leader, pid_t pid, uint64_t gadget,
                                                   bool borrow_gadget);
  // Closes the pipes' write ends in the process and unmaps the area (best effort: a process
  // that is gone has neither).
  ~DirectPages();
  DirectPages(const DirectPages&) = delete;
  DirectPages& operator=(const DirectPages&) = delete;

  // Writes the `pages` pages at `addr` (readable memory of the process) as MemoryPages
  // sections of at most kMaxSectionPages pages each, owned by the process; pages holding
  // only zeros are left out unless `keep_zeros`. Nothing else may write the image
  // meanwhile. Returns the payload bytes written. Issue 15's pre-copy can call it with
  // any set of page ranges.
  Result<uint64_t> write_range(uint64_t addr, uint64_t pages, bool keep_zeros);

 private:
  static constexpr size_t kPipes = 4;  // 4 x 1 MiB: one section per injected batch
  DirectPages(ImageWriter& writer, const Tracee& leader, pid_t pid) : writer_(writer), leader_(leader), pid_(pid) {}
  Result<uint64_t> write_section(uint64_t addr, uint64_t pages, bool keep_zeros);
  // Moves [addr, addr + size) of the process to image offset `at` through the pipes.
  Result<void> splice_bytes(uint64_t addr, uint64_t size, uint64_t at);

  ImageWriter& writer_;
  const Tracee& leader_;
  pid_t pid_;
  std::unique_ptr<InjectionArea> area_;
  Fd image_rw_;  // the image reopened read-write, for the mapping that packs and hashes
  std::array<Fd, kPipes> read_ends_;
  std::array<int, kPipes> write_ends_{-1, -1, -1, -1};  // descriptors in the process
  std::array<size_t, kPipes> capacity_{};
};

}  // namespace crest
