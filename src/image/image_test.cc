#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "base/fd.h"
#include "image/image_reader.h"
#include "image/image_writer.h"
#include "records/fd_record.h"
#include "records/memory_record.h"
#include "records/process_record.h"

namespace crest {
namespace {

std::vector<uint8_t> slurp(int fd) {
  std::vector<uint8_t> out(lseek(fd, 0, SEEK_END));
  pread(fd, out.data(), out.size(), 0);
  return out;
}

Fd memfd_with(const std::vector<uint8_t>& bytes) {
  Fd fd(memfd_create("img", MFD_CLOEXEC));
  if (!bytes.empty()) write(fd.get(), bytes.data(), bytes.size());
  lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

std::vector<uint8_t> sample_image() {
  Fd fd(memfd_create("img", MFD_CLOEXEC));
  ImageWriter w(fd.get());
  EXPECT_TRUE(w.write_header().has_value());
  ProcessRecord p;
  p.pid = 1234;
  p.comm = "sample";
  p.rlimits = {{1, 2}, {3, 4}};
  p.auxv = {1, 2, 3};
  EXPECT_TRUE(w.write_record(SectionType::Process, 1234, p).has_value());
  MemoryMapRecord m;
  m.vmas.push_back({0x1000, 0x3000, 3, VmaKind::Anonymous, 0, 0, "[heap]"});
  EXPECT_TRUE(w.write_record(SectionType::MemoryMap, 1234, m).has_value());
  std::vector<uint8_t> page(4096, 0xab);
  PageRunHeader h{0x1000, 1};
  EXPECT_TRUE(w.write_section(SectionType::MemoryPages, 1234, {{&h, sizeof h}, {page.data(), page.size()}}).has_value());
  EXPECT_TRUE(w.write_trailer().has_value());
  return slurp(fd.get());
}

// Reads the whole image; returns the first error.
Result<void> read_all(const std::vector<uint8_t>& bytes) {
  Fd fd = memfd_with(bytes);
  ImageReader r(fd.get(), "test");
  CR_TRY(r.read_header());
  while (!r.complete()) {
    Section s = CR_TRY(r.next_section());
    if (s.type == SectionType::Process) CR_TRY(decode_section<ProcessRecord>(s));
    if (s.type == SectionType::MemoryMap) CR_TRY(decode_section<MemoryMapRecord>(s));
  }
  return {};
}

TEST(ImageReader, RoundTripsRecords) {
  auto bytes = sample_image();
  Fd fd = memfd_with(bytes);
  ImageReader r(fd.get(), "test");
  ASSERT_TRUE(r.read_header().has_value());
  auto s = r.next_section();
  ASSERT_TRUE(s.has_value());
  ASSERT_EQ(s->type, SectionType::Process);
  auto p = decode_section<ProcessRecord>(*s);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(p->pid, 1234);
  EXPECT_EQ(p->comm, "sample");
  ASSERT_EQ(p->rlimits.size(), 2u);
  EXPECT_EQ(p->rlimits[1].max, 4u);
  EXPECT_EQ(p->auxv, (std::vector<uint8_t>{1, 2, 3}));
  auto m = r.next_section();
  ASSERT_TRUE(m.has_value());
  auto map = decode_section<MemoryMapRecord>(*m);
  ASSERT_TRUE(map.has_value());
  ASSERT_EQ(map->vmas.size(), 1u);
  EXPECT_EQ(map->vmas[0].path, "[heap]");
  EXPECT_EQ(map->vmas[0].end, 0x3000u);
  auto pages = r.next_section();
  ASSERT_TRUE(pages.has_value());
  EXPECT_EQ(pages->payload.size(), sizeof(PageRunHeader) + 4096);
  auto trailer = r.next_section();
  ASSERT_TRUE(trailer.has_value()) << trailer.error().message();
  EXPECT_TRUE(r.complete());
}

TEST(ImageReader, RejectsEveryTruncation) {
  auto bytes = sample_image();
  ASSERT_TRUE(read_all(bytes).has_value());
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + len);
    auto r = read_all(cut);
    ASSERT_FALSE(r.has_value()) << "truncated at " << len << " was accepted";
    EXPECT_EQ(r.error().kind(), ErrorKind::CorruptImage) << len << ": " << r.error().message();
  }
}

TEST(ImageReader, RejectsEveryFlippedByte) {
  auto bytes = sample_image();
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto bad = bytes;
    bad[i] ^= 0x20;
    auto r = read_all(bad);
    ASSERT_FALSE(r.has_value()) << "flip at byte " << i << " was accepted";
  }
}

TEST(ImageReader, NamesForeignArchitecture) {
  auto bytes = sample_image();
  ImageHeader h;
  memcpy(&h, bytes.data(), sizeof h);
  h.arch = 183;  // aarch64
  h.checksum = XXH3_64bits(&h, offsetof(ImageHeader, checksum));
  memcpy(bytes.data(), &h, sizeof h);
  auto r = read_all(bytes);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind(), ErrorKind::IncompatibleImage);
  EXPECT_NE(r.error().message().find("architecture 183"), std::string::npos) << r.error().message();
}

// The sample image with another format version, its header checksum fixed.
std::vector<uint8_t> sample_image_of_version(uint32_t version) {
  auto bytes = sample_image();
  ImageHeader h;
  memcpy(&h, bytes.data(), sizeof h);
  h.format_version = version;
  h.checksum = XXH3_64bits(&h, offsetof(ImageHeader, checksum));
  memcpy(bytes.data(), &h, sizeof h);
  return bytes;
}

TEST(ImageReader, NamesFutureVersion) {
  auto r = read_all(sample_image_of_version(99));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind(), ErrorKind::IncompatibleImage);
  EXPECT_NE(r.error().message().find("version 99"), std::string::npos);
}

TEST(ImageReader, NamesVersionOneAsMadeByAnOlderCrest) {
  auto r = read_all(sample_image_of_version(1));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind(), ErrorKind::IncompatibleImage);
  EXPECT_EQ(r.error().error_number(), 55);  // CR_EBADARCH, as for any foreign version
  const std::string m = r.error().message();
  EXPECT_NE(m.find("format version 1"), std::string::npos) << m;
  EXPECT_NE(m.find("made by an older crest"), std::string::npos) << m;
  EXPECT_NE(m.find("re-checkpoint"), std::string::npos) << m;
}

TEST(Decoder, RejectsRecordWithTrailingBytes) {
  FdRecord rec;
  rec.path = "/x";
  auto bytes = encode_record(rec);
  bytes.push_back(0);
  auto r = decode_record<FdRecord>(bytes, "FdTable");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().kind(), ErrorKind::CorruptImage);
}

}  // namespace
}  // namespace crest
