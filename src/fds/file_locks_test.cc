#include "fds/file_locks.h"

#include <gtest/gtest.h>

namespace crest {
namespace {

// The "lock:" lines of fdinfo as fs/locks.c prints them (after "lock:\t").
TEST(FileLocks, ParsesEachKind) {
  auto locks = parse_file_locks({"1: POSIX  ADVISORY  READ 1234 00:1f:5678 0 99",
                                 "2: POSIX  ADVISORY  WRITE 1234 00:1f:5678 200 EOF",
                                 "3: OFDLCK ADVISORY  WRITE -1 00:1f:5678 400 499",
                                 "4: FLOCK  ADVISORY  WRITE 1234 00:1f:9 0 EOF",
                                 "5: LEASE  ACTIVE    READ 1234 00:1f:9 0 EOF"},
                                "fd 7", false);
  ASSERT_TRUE(locks) << locks.error().message();
  ASSERT_EQ(locks->size(), 5u);
  EXPECT_EQ((*locks)[0].kind, FileLockKind::Posix);
  EXPECT_EQ((*locks)[0].write, 0);
  EXPECT_EQ((*locks)[0].start, 0u);
  EXPECT_EQ((*locks)[0].length, 100u);
  EXPECT_EQ((*locks)[1].write, 1);
  EXPECT_EQ((*locks)[1].start, 200u);
  EXPECT_EQ((*locks)[1].length, 0u);  // to the end
  EXPECT_EQ((*locks)[2].kind, FileLockKind::Ofd);
  EXPECT_EQ((*locks)[2].length, 100u);
  EXPECT_EQ((*locks)[3].kind, FileLockKind::Flock);
  EXPECT_EQ((*locks)[4].kind, FileLockKind::Lease);
  EXPECT_EQ((*locks)[4].write, 0);
}

TEST(FileLocks, RefusesWhatCannotBeTakenAgain) {
  for (const char* line : {"1: LEASE  BREAKING  READ 1234 00:1f:9 0 EOF", "1: DELEG  ACTIVE    READ 1234 00:1f:9 0 EOF",
                           "1: UNKNOWN UNKNOWN  READ 1234 00:1f:9 0 EOF"}) {
    auto locks = parse_file_locks({line}, "process 5, fd 7", false);
    ASSERT_FALSE(locks) << line;
    EXPECT_EQ(locks.error().kind(), ErrorKind::Unsupported) << line;
    EXPECT_NE(locks.error().message().find("process 5, fd 7"), std::string::npos) << locks.error().message();
    auto skipped = parse_file_locks({line}, "process 5, fd 7", true);
    ASSERT_TRUE(skipped) << line;
    EXPECT_TRUE(skipped->empty());
  }
  EXPECT_FALSE(parse_file_locks({"1: POSIX"}, "fd 7", false));
}

}  // namespace
}  // namespace crest
