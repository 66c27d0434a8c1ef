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

 private:
  Result<void> emit(const void* data, size_t size, bool chain);
  int fd_;
  XXH3_state_t* stream_hash_;  // over the image header and every section header
  uint64_t bytes_ = 0;
  uint64_t sections_ = 0;
};

}  // namespace crest
