// Optional compression of MemoryPages payloads: each section is one independent zstd or
// lz4 frame (so restore can decompress sections in parallel), stored as a
// MemoryPagesCompressed section: u8 codec, 7 zero bytes, u64 raw size, compressed bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace crest {

enum class Codec : uint8_t { None = 0, Zstd = 1, Lz4 = 2 };

struct Compression {
  Codec codec = Codec::None;
  int level = 1;  // zstd level
};

// "zstd", "zstd:LEVEL" or "lz4".
Result<Compression> parse_compression(const std::string& spec);

// The MemoryPagesCompressed payload for `raw`.
Result<void> compress_pages(const Compression& c, const uint8_t* raw, size_t size, std::vector<uint8_t>& out);

// The same, for one thread compressing many sections: keeps its zstd context (tables,
// window) and its output buffer from one section to the next (compress_pages makes one
// for a single section).
class PageCompressor {
 public:
  explicit PageCompressor(const Compression& c);
  ~PageCompressor();
  PageCompressor(const PageCompressor&) = delete;
  PageCompressor& operator=(const PageCompressor&) = delete;
  // The payload stays valid until the next call.
  Result<std::pair<const uint8_t*, size_t>> compress(const uint8_t* raw, size_t size);

 private:
  Compression c_;
  void* zstd_ = nullptr;  // ZSTD_CCtx
  std::unique_ptr<uint8_t[]> out_;
  size_t capacity_ = 0;
};
// Back to the MemoryPages payload; any mismatch is CorruptImage.
Result<std::vector<uint8_t>> decompress_pages(const std::vector<uint8_t>& payload, std::vector<uint8_t> reuse = {});

}  // namespace crest
