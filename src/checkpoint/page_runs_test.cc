#include "checkpoint/page_runs.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "image/format.h"

namespace crest {
namespace {

constexpr size_t kPage = 4096;

// Pages 0..n-1 at the layout the dumper reads them into; page i is filled with `fill[i]`
// (0 = a zero page).
std::vector<uint8_t> pages(const std::vector<uint8_t>& fill) {
  std::vector<uint8_t> buf(sizeof(PageRunHeader) + fill.size() * kPage);
  for (size_t i = 0; i < fill.size(); ++i)
    memset(buf.data() + sizeof(PageRunHeader) + i * kPage, fill[i], kPage);
  return buf;
}

struct Run {
  uint64_t address, count;
  std::vector<uint8_t> first_bytes;
};

std::vector<Run> runs(const std::vector<uint8_t>& buf, size_t size) {
  std::vector<Run> out;
  for (size_t at = 0; at < size;) {
    PageRunHeader h;
    memcpy(&h, buf.data() + at, sizeof h);
    at += sizeof h;
    Run r{h.address, h.page_count, {}};
    for (uint64_t i = 0; i < h.page_count; ++i) r.first_bytes.push_back(buf[at + i * kPage]);
    at += h.page_count * kPage;
    out.push_back(r);
  }
  return out;
}

TEST(PackRuns, LeavesOutZeroPagesAndKeepsTheRestInOrder) {
  auto buf = pages({0, 1, 2, 0, 0, 3, 0});
  size_t size = pack_runs_skip_zeros(buf.data(), 0x10000, 7, kPage);
  auto r = runs(buf, size);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].address, 0x10000u + kPage);
  EXPECT_EQ(r[0].first_bytes, (std::vector<uint8_t>{1, 2}));
  EXPECT_EQ(r[1].address, 0x10000u + 5 * kPage);
  EXPECT_EQ(r[1].first_bytes, (std::vector<uint8_t>{3}));
  EXPECT_EQ(size, 2 * sizeof(PageRunHeader) + 3 * kPage);
}

TEST(PackRuns, AllZeroPagesMakeNothing) {
  auto buf = pages({0, 0, 0});
  EXPECT_EQ(pack_runs_skip_zeros(buf.data(), 0x10000, 3, kPage), 0u);
}

TEST(PackRuns, NoZeroPageIsOneRunWithoutMovingData) {
  auto buf = pages({5, 6, 7});
  size_t size = pack_runs_skip_zeros(buf.data(), 0x20000, 3, kPage);
  auto r = runs(buf, size);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].count, 3u);
  EXPECT_EQ(r[0].first_bytes, (std::vector<uint8_t>{5, 6, 7}));
}

TEST(PackRuns, KeepZerosWritesOneRunOfEverything) {
  auto buf = pages({0, 9, 0});
  size_t size = pack_runs_keep_zeros(buf.data(), 0x30000, 3, kPage);
  auto r = runs(buf, size);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].first_bytes, (std::vector<uint8_t>{0, 9, 0}));
}

TEST(IsZeroPage, SeesALastNonZeroByte) {
  std::vector<uint8_t> p(kPage, 0);
  EXPECT_TRUE(is_zero_page(p.data(), kPage));
  p[kPage - 1] = 1;
  EXPECT_FALSE(is_zero_page(p.data(), kPage));
}

}  // namespace
}  // namespace crest
