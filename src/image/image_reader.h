// ImageReader: reads an image front to back, checking every header, length and checksum
// before a byte of it is used.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "image/codec.h"
#include "image/format.h"

namespace crest {

struct Section {
  SectionType type;
  uint32_t owner;
  std::vector<uint8_t> payload;
  // A MemoryPages payload read in place (ImageReader::map_page_payloads): a read-only
  // shared mapping of the image file, i.e. its page cache, verified like any payload;
  // `payload` is then empty. bytes()/size() are whichever holds it.
  std::shared_ptr<const uint8_t> mapped = nullptr;
  size_t mapped_size = 0;
  const uint8_t* bytes() const { return mapped ? mapped.get() : payload.data(); }
  size_t size() const { return mapped ? mapped_size : payload.size(); }
};

class ImageReader {
 public:
  // `name` is used in messages ("image context.123").
  ImageReader(int fd, std::string name);
  ~ImageReader();
  ImageReader(const ImageReader&) = delete;
  ImageReader& operator=(const ImageReader&) = delete;

  Result<ImageHeader> read_header();
  // The next section with its verified payload. The trailer is checked here too: after
  // it has been returned, `complete()` is true.
  Result<Section> next_section() { return next_section({}); }
  // The same, with the payload read into `reuse` (its memory; the restore recycles its
  // page buffers, where a fresh 4 MiB vector per section was zero-filled first).
  Result<Section> next_section(std::vector<uint8_t> reuse);
  bool complete() const { return complete_; }
  // Bytes of the stream read so far.
  uint64_t offset() const { return offset_; }
  const std::string& name() const { return name_; }
  // Continue reading from another descriptor holding the rest of the same stream.
  void switch_fd(int fd) {
    fd_ = fd;
    base_ = -1;  // its offsets are not known: read, never mapped
  }
  // MemoryPages payloads of at least 64 KiB are mapped from the image file instead of
  // read (no copy: the restore writes them into the process from the page cache), when
  // the image is a regular file long enough to hold them. The file must not shrink while
  // a mapped section is in use (a read beyond its end would be SIGBUS).
  void map_page_payloads() { map_pages_ = base_ >= 0; }
  // Reads give up once `fd` is readable (see PagePrefetcher).
  void set_cancel_fd(int fd) { cancel_fd_ = fd; }

 private:
  Result<void> take(void* data, size_t size, const char* what, bool chain);
  int fd_;
  int cancel_fd_ = -1;
  std::string name_;
  XXH3_state_t* stream_hash_;
  uint64_t offset_ = 0;
  int64_t base_ = -1;  // file offset of the stream's first byte, if the image is a regular file
  bool map_pages_ = false;
  Result<bool> map_payload(Section& s, uint64_t length);
  uint64_t sections_ = 0;
  bool complete_ = false;
};

template <typename R>
Result<R> decode_section(const Section& s) {
  return decode_record<R>(s.payload, section_name(s.type));
}

}  // namespace crest
