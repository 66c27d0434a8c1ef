#include "sys/credentials.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace crest {
namespace {

TEST(Credentials, ReadsOwnThread) {
  auto c = read_thread_credentials(getpid(), static_cast<pid_t>(syscall(SYS_gettid)));
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->uids.size(), 4u);
  EXPECT_EQ(c->uids[1], geteuid());
  EXPECT_EQ(c->gids[1], getegid());
}

TEST(Credentials, NamesEachDifference) {
  CredentialsRecord want;
  want.uids = {65534, 65534, 65534, 65534};
  want.gids = {65534, 65534, 65534, 65534};
  want.cap_bounding = (1ull << 13) | 1;  // cap_net_raw, cap_chown
  CredentialsRecord got = want;
  EXPECT_TRUE(credential_differences(want, got, true).empty());
  got.uids[2] = 0;
  got.cap_bounding = 1 | (1ull << 25);
  got.securebits = 1;
  auto diff = credential_differences(want, got, false);
  ASSERT_EQ(diff.size(), 2u);
  EXPECT_NE(diff[0].find("uids"), std::string::npos);
  EXPECT_NE(diff[0].find("65534 65534 0 65534"), std::string::npos);
  EXPECT_NE(diff[1].find("lacks cap_net_raw"), std::string::npos);
  EXPECT_NE(diff[1].find("has cap_sys_time"), std::string::npos);
  EXPECT_EQ(credential_differences(want, got, true).size(), 3u);
}

TEST(Credentials, CapabilityNames) {
  EXPECT_EQ(capability_names(0), "none");
  EXPECT_EQ(capability_names((1ull << 40) | 1), "cap_chown,cap_checkpoint_restore");
  EXPECT_EQ(capability_name(63), "capability 63");
  EXPECT_EQ(parse_id_list("0\t1 2  3"), (std::vector<uint32_t>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace crest
