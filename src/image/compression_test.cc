#include "image/compression.h"

#include <gtest/gtest.h>

#include <cstring>

namespace crest {
namespace {

std::vector<uint8_t> sample() {
  std::vector<uint8_t> raw(64 * 1024);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>((i / 64) % 7);
  return raw;
}

TEST(Compression, RoundTripsWithEachCodec) {
  auto raw = sample();
  for (const char* spec : {"zstd", "zstd:9", "lz4"}) {
    auto c = parse_compression(spec);
    ASSERT_TRUE(c.has_value()) << spec;
    std::vector<uint8_t> packed;
    ASSERT_TRUE(compress_pages(*c, raw.data(), raw.size(), packed).has_value()) << spec;
    EXPECT_LT(packed.size(), raw.size() / 4) << spec;
    auto back = decompress_pages(packed);
    ASSERT_TRUE(back.has_value()) << spec << ": " << back.error().message();
    EXPECT_EQ(*back, raw) << spec;
  }
}

TEST(Compression, AReusedCompressorRoundTripsEverySection) {
  for (const char* spec : {"zstd", "zstd:5", "lz4"}) {
    auto c = parse_compression(spec);
    ASSERT_TRUE(c.has_value()) << spec;
    PageCompressor pc(*c);
    // Sections of different sizes and contents through one context and one buffer: a
    // larger one after a smaller one grows the buffer, a smaller one after it reuses it.
    for (size_t size : {size_t{4096}, size_t{256 * 1024}, size_t{8192}, size_t{64 * 1024}}) {
      std::vector<uint8_t> raw(size);
      for (size_t i = 0; i < size; ++i) raw[i] = static_cast<uint8_t>((i * 7 + size / 4096) % 251 / 3);
      auto out = pc.compress(raw.data(), raw.size());
      ASSERT_TRUE(out.has_value()) << spec;
      std::vector<uint8_t> packed(out->first, out->first + out->second);
      EXPECT_EQ(packed[0], static_cast<uint8_t>(c->codec)) << spec;
      auto back = decompress_pages(packed);
      ASSERT_TRUE(back.has_value()) << spec << ": " << back.error().message();
      EXPECT_EQ(*back, raw) << spec << " size " << size;
    }
  }
}

TEST(Compression, RejectsADamagedFrame) {
  auto raw = sample();
  auto c = parse_compression("zstd");
  std::vector<uint8_t> packed;
  ASSERT_TRUE(compress_pages(*c, raw.data(), raw.size(), packed).has_value());
  auto wrong_size = packed;
  wrong_size[8] ^= 1;  // the raw size
  auto r = decompress_pages(wrong_size);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind(), ErrorKind::CorruptImage);
  auto unknown = packed;
  unknown[0] = 9;
  EXPECT_FALSE(decompress_pages(unknown).has_value());
  packed.resize(packed.size() / 2);
  EXPECT_FALSE(decompress_pages(packed).has_value());
}

// A section claiming more than its frame can produce, or more than a MemoryPages section
// holds, is refused before anything is allocated (a 267 KiB image of 1 GiB claims took
// cr_restart to GiBs of memory).
TEST(Compression, RefusesClaimsBeyondWhatTheFrameCanProduce) {
  auto raw = sample();
  for (const char* spec : {"zstd", "lz4"}) {
    auto c = parse_compression(spec);
    std::vector<uint8_t> packed;
    ASSERT_TRUE(compress_pages(*c, raw.data(), raw.size(), packed).has_value());
    // lz4: 4 MiB is within a section but beyond 255 times its block; zstd: a claim that
    // differs from the frame's stated content size.
    uint64_t third = c->codec == Codec::Zstd ? raw.size() + 4096 : uint64_t{4 << 20};
    for (uint64_t claim : {uint64_t{1} << 30, uint64_t{(4 << 20) + 4096 * 2}, third}) {
      auto huge = packed;
      memcpy(huge.data() + 8, &claim, 8);
      auto r = decompress_pages(huge);
      ASSERT_FALSE(r.has_value()) << spec << " claim " << claim;
      EXPECT_EQ(r.error().kind(), ErrorKind::CorruptImage) << spec;
      EXPECT_NE(r.error().message().find("claims"), std::string::npos) << r.error().message();
    }
  }
}

TEST(Compression, ParsesOnlyKnownSpecs) {
  EXPECT_FALSE(parse_compression("gzip").has_value());
  EXPECT_FALSE(parse_compression("zstd:0").has_value());
  EXPECT_FALSE(parse_compression("zstd:").has_value());
  EXPECT_EQ(parse_compression("zstd:3")->level, 3);
}

}  // namespace
}  // namespace crest
