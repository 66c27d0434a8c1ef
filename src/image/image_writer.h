// ImageWriter: streams an image front to back (works on pipes): header, sections, trailer.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <vector>

#include "base/result.h"
#include "image/codec.h"
#include "image/format.h"

namespace crest {

class ImageWriter {
 public:
  explicit ImageWriter(int fd);
  ~ImageWriter();
  ImageWriter(const ImageWriter&) = delete;
  ImageWriter& operator=(const ImageWriter&) = delete;

  Result<void> write_header();
  // One section whose payload is the concatenation of `parts`.
  Result<void> write_section(SectionType type, uint32_t owner, std::initializer_list<std::pair<const void*, size_t>> parts);
  template <typename R>
  Result<void> write_record(SectionType type, uint32_t owner, const R& record) {
    auto bytes = encode_record(record);
    return write_section(type, owner, {{bytes.data(), bytes.size()}});
  }
  // A section whose payload checksum the caller computed (so that hashing can run on
  // another thread than writing).
  Result<void> write_section_prehashed(SectionType type, uint32_t owner, const void* payload, size_t size, uint64_t checksum);
  Result<void> write_trailer();
  uint64_t bytes_written() const { return bytes_; }

  // Sections written in place (src/checkpoint/direct_pages.cc): on a regular file opened
  // without O_APPEND, a caller may put a payload at payload_offset() itself (splice,
  // pwrite), then commit its header. Nothing else may be written in between.
  bool in_place() const { return base_ >= 0; }
  // The file offset where the next section's payload starts (after its header).
  uint64_t payload_offset() const { return static_cast<uint64_t>(base_) + bytes_ + sizeof(SectionHeader); }
  // The header of the section whose `size` payload bytes are at payload_offset(); the file
  // is cut after them (a longer payload written first and packed shrinks) and the next
  // section follows.
  Result<void> commit_in_place(SectionType type, uint32_t owner, size_t size, uint64_t checksum);
  // The payload written at payload_offset() turned out empty: no section; the file is cut.
  Result<void> discard_in_place();
  int fd() const { return fd_; }

 private:
  Result<void> emit(const void* data, size_t size, bool chain);
  SectionHeader header_of(SectionType type, uint32_t owner, size_t size, uint64_t checksum) const;
  int fd_;
  int64_t base_ = -1;  // the file offset of the image's first byte, if in_place()
  XXH3_state_t* stream_hash_;  // over the image header and every section header
  uint64_t bytes_ = 0;
  uint64_t sections_ = 0;
};

}  // namespace crest
