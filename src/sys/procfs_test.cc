#include "sys/procfs.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

namespace crest {
namespace {

TEST(ReadSmaps, FindsAnAreaWithItsProtectionAndFlags) {
  void* p = mmap(nullptr, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  madvise(p, 3 * 4096, MADV_DONTFORK);
  auto maps = read_smaps(getpid());
  ASSERT_TRUE(maps.has_value());
  bool found = false, stack = false;
  for (auto& m : *maps) {
    if (m.start == reinterpret_cast<uint64_t>(p)) {
      found = true;
      EXPECT_EQ(m.end - m.start, 3u * 4096);
      EXPECT_TRUE(m.read);
      EXPECT_FALSE(m.write);
      EXPECT_FALSE(m.shared);
      EXPECT_TRUE(m.has_flag("dc"));
    }
    if (m.path == "[stack]") stack = true;
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(stack);
  munmap(p, 3 * 4096);
}

TEST(ParseMapsText, ReadsHeadPathAndFlagsAndSkipsSmapsKeys) {
  const char* text =
      "55d0c0a00000-55d0c0a21000 r-xp 00002000 fd:01 1234567                    /usr/bin/a b (deleted)\n"
      "Size:                132 kB\n"
      "Anonymous:             0 kB\n"
      "AnonHugePages:         0 kB\n"
      "VmFlags: rd ex mr mw me dc \n"
      "7ffd1000-7ffd3000 rw-s 00000000 00:05 42 \n"
      "VmFlags: rd wr sh mr mw me ms gd\n"
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";
  auto maps = parse_maps_text(text, "test");
  ASSERT_TRUE(maps.has_value());
  ASSERT_EQ(maps->size(), 3u);
  const MapsEntry& a = (*maps)[0];
  EXPECT_EQ(a.start, 0x55d0c0a00000u);
  EXPECT_EQ(a.end, 0x55d0c0a21000u);
  EXPECT_TRUE(a.read && a.exec && !a.write && !a.shared);
  EXPECT_EQ(a.offset, 0x2000u);
  EXPECT_EQ(a.dev_major, 0xfdu);
  EXPECT_EQ(a.dev_minor, 1u);
  EXPECT_EQ(a.inode, 1234567u);
  EXPECT_EQ(a.path, "/usr/bin/a b (deleted)");
  EXPECT_TRUE(a.has_flag("dc"));
  EXPECT_TRUE(a.has_flag("rd"));
  EXPECT_FALSE(a.has_flag("d"));
  EXPECT_FALSE(a.has_flag("gd"));
  const MapsEntry& b = (*maps)[1];
  EXPECT_TRUE(b.shared && b.write);
  EXPECT_EQ(b.dev_minor, 5u);
  EXPECT_EQ(b.inode, 42u);
  EXPECT_EQ(b.path, "");
  EXPECT_TRUE(b.has_flag("gd"));
  EXPECT_FALSE(b.has_flag("dc"));
  EXPECT_EQ((*maps)[2].path, "[vsyscall]");
  EXPECT_EQ((*maps)[2].end, 0xffffffffff601000u);
}

TEST(ParseMapsText, RejectsFlagsBeforeAnyArea) {
  auto maps = parse_maps_text("VmFlags: rd wr\n", "/proc/1/smaps");
  ASSERT_FALSE(maps.has_value());
  EXPECT_NE(maps.error().message().find("/proc/1/smaps"), std::string::npos);
}

TEST(ReadStatFields, ParsesCommWithSpacesAndParens) {
  auto f = read_stat_fields(getpid());
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(std::stoi((*f)[1]), getpid());
  EXPECT_EQ(std::stoi((*f)[4]), getppid());
  EXPECT_GE(f->size(), 52u);
}

TEST(ReadStatus, ReadsUmaskAndUid) {
  auto s = read_status(getpid());
  ASSERT_TRUE(s.has_value());
  EXPECT_FALSE(s->get("Umask").empty());
  EXPECT_EQ(std::stoul(s->get("Uid")), getuid());
  EXPECT_TRUE(s->get("NoSuchKey").empty());
}

}  // namespace
}  // namespace crest
