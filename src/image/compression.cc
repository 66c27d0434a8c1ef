#include "image/compression.h"

#include <lz4.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_decompressBound
#include <zstd.h>

#include <unistd.h>

#include <cstring>

#include "image/format.h"

namespace crest {

namespace {
constexpr size_t kHead = 16;  // u8 codec, 7 zero bytes, u64 raw size
constexpr uint64_t kLz4MaxRatio = 255;
}

Result<Compression> parse_compression(const std::string& spec) {
  Compression c;
  if (spec == "lz4") {
    c.codec = Codec::Lz4;
    return c;
  }
  if (spec.rfind("zstd", 0) == 0) {
    c.codec = Codec::Zstd;
    if (spec.size() == 4) return c;
    if (spec[4] == ':') {
      char* end = nullptr;
      long level = strtol(spec.c_str() + 5, &end, 10);
      if (*end == '\0' && spec.size() > 5 && level >= 1 && level <= ZSTD_maxCLevel()) {
        c.level = static_cast<int>(level);
        return c;
      }
    }
  }
  return Error::invalid(format("--compress '%s': expected lz4, zstd or zstd:LEVEL (1-%d)", spec.c_str(), ZSTD_maxCLevel()));
}

PageCompressor::PageCompressor(const Compression& c) : c_(c) {
  if (c_.codec == Codec::Zstd) {
    ZSTD_CCtx* z = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, c_.level);
    zstd_ = z;
  }
}

PageCompressor::~PageCompressor() { ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_)); }

Result<std::pair<const uint8_t*, size_t>> PageCompressor::compress(const uint8_t* raw, size_t size) {
  size_t bound = c_.codec == Codec::Zstd ? ZSTD_compressBound(size) : static_cast<size_t>(LZ4_compressBound(static_cast<int>(size)));
  if (capacity_ < kHead + bound) {
    out_.reset(new uint8_t[kHead + bound]);  // not zero-filled: only written bytes are used
    capacity_ = kHead + bound;
  }
  uint8_t* out = out_.get();
  memset(out, 0, kHead);
  out[0] = static_cast<uint8_t>(c_.codec);
  uint64_t raw_size = size;
  memcpy(out + 8, &raw_size, 8);
  size_t n;
  if (c_.codec == Codec::Zstd) {
    if (!zstd_) return Error::os("zstd: no compression context", ENOMEM);
    n = ZSTD_compress2(static_cast<ZSTD_CCtx*>(zstd_), out + kHead, bound, raw, size);
    if (ZSTD_isError(n)) return Error::os(format("zstd: %s", ZSTD_getErrorName(n)), EIO);
  } else {
    int r = LZ4_compress_default(reinterpret_cast<const char*>(raw), reinterpret_cast<char*>(out + kHead),
                                 static_cast<int>(size), static_cast<int>(bound));
    if (r <= 0) return Error::os("lz4 compression failed", EIO);
    n = static_cast<size_t>(r);
  }
  return std::pair<const uint8_t*, size_t>{out, kHead + n};
}

Result<void> compress_pages(const Compression& c, const uint8_t* raw, size_t size, std::vector<uint8_t>& out) {
  PageCompressor one(c);
  auto [data, n] = CR_TRY(one.compress(raw, size));
  out.assign(data, data + n);
  return {};
}

namespace {

uint64_t max_pages_payload() { return kPageRunHeaderBytes + kMaxSectionPages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)); }

// What a section may claim, checked before a byte is allocated: no more than a MemoryPages
// section may hold (1024 pages, docs/image-format.md), and no more than its frame can
// produce: a zstd frame states its content size (crest's always do) and ZSTD_decompressBound
// counts its blocks; an lz4 block expands at most 255 times.
Result<void> check_claim(Codec codec, uint64_t raw_size, const uint8_t* src, size_t src_size) {
  if (raw_size > max_pages_payload())
    return Error::corrupt(format("compressed MemoryPages section claims %llu bytes, more than a MemoryPages section holds (%llu)",
                                 static_cast<unsigned long long>(raw_size), static_cast<unsigned long long>(max_pages_payload())));
  if (codec == Codec::Zstd) {
    unsigned long long content = ZSTD_getFrameContentSize(src, src_size);
    unsigned long long bound = ZSTD_decompressBound(src, src_size);
    if (content != raw_size || bound == ZSTD_CONTENTSIZE_ERROR || bound < raw_size)
      return Error::corrupt(format("compressed MemoryPages section claims %llu bytes; its zstd frame states %lld and can produce at most %lld",
                                   static_cast<unsigned long long>(raw_size), static_cast<long long>(content), static_cast<long long>(bound)));
  }
  if (codec == Codec::Lz4 && raw_size > kLz4MaxRatio * static_cast<uint64_t>(src_size))
    return Error::corrupt(format("compressed MemoryPages section claims %llu bytes; its %zu-byte lz4 block can produce at most %llu",
                                 static_cast<unsigned long long>(raw_size), src_size,
                                 static_cast<unsigned long long>(kLz4MaxRatio * src_size)));
  return {};
}

}  // namespace

Result<std::vector<uint8_t>> decompress_pages(const std::vector<uint8_t>& payload, std::vector<uint8_t> reuse) {
  if (payload.size() < kHead) return Error::corrupt("short compressed MemoryPages section");
  uint64_t raw_size;
  memcpy(&raw_size, payload.data() + 8, 8);
  const uint8_t* src = payload.data() + kHead;
  size_t src_size = payload.size() - kHead;
  CR_TRY(check_claim(static_cast<Codec>(payload[0]), raw_size, src, src_size));
  std::vector<uint8_t> raw = std::move(reuse);
  raw.resize(raw_size);  // only bytes beyond the reused size are zero-filled
  switch (static_cast<Codec>(payload[0])) {
    case Codec::Zstd: {
      size_t n = ZSTD_decompress(raw.data(), raw.size(), src, src_size);
      if (ZSTD_isError(n) || n != raw_size) return Error::corrupt("corrupt zstd frame in a MemoryPages section");
      break;
    }
    case Codec::Lz4: {
      int n = LZ4_decompress_safe(reinterpret_cast<const char*>(src), reinterpret_cast<char*>(raw.data()),
                                  static_cast<int>(src_size), static_cast<int>(raw.size()));
      if (n < 0 || static_cast<uint64_t>(n) != raw_size) return Error::corrupt("corrupt lz4 block in a MemoryPages section");
      break;
    }
    default:
      return Error::corrupt(format("unknown compression codec %u in a MemoryPages section", payload[0]));
  }
  return raw;
}

}  // namespace crest
