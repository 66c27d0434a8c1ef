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
