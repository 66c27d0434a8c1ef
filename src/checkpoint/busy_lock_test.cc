#include "checkpoint/busy_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace crest {
namespace {

// A pid no test process has: the lock is only a name, the process need not exist.
constexpr pid_t kPid = 0x3ffff0;

TEST(BusyLocks, SecondHolderGetsEbusyNamingThePid) {
  BusyLocks first, second;
  ASSERT_TRUE(first.take(kPid).has_value());
  EXPECT_TRUE(first.holds(kPid));
  EXPECT_TRUE(first.take(kPid).has_value());  // taking one's own lock again is fine
  auto r = second.take(kPid);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().error_number(), EBUSY);
  EXPECT_NE(r.error().message().find(std::to_string(kPid)), std::string::npos) << r.error().message();
  EXPECT_FALSE(second.holds(kPid));
}

TEST(BusyLocks, ReleasedWhenDroppedOrReleased) {
  {
    BusyLocks a;
    ASSERT_TRUE(a.take(kPid + 1).has_value());
  }
  BusyLocks b;
  ASSERT_TRUE(b.take(kPid + 1).has_value());
  b.release(kPid + 1);
  BusyLocks c;
  EXPECT_TRUE(c.take(kPid + 1).has_value());
}

}  // namespace
}  // namespace crest
