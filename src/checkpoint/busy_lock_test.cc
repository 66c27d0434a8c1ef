#include "checkpoint/busy_lock.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "base/fd.h"

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

// A name bound the way crest never binds it (not listening, so nobody can connect to it
// for its credentials) is a squatter's: it does not lock the process.
TEST(BusyLocks, NameBoundWithoutListeningDoesNotLock) {
  Fd squatter(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(squatter.valid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // Above pid_max (2^22), and unique to this test run.
  const pid_t pid = (1 << 22) + getpid();
  std::string name = "crest-busy/" + std::to_string(pid);
  memcpy(addr.sun_path + 1, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(::bind(squatter.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  BusyLocks locks;
  EXPECT_TRUE(locks.take(pid).has_value());
  EXPECT_FALSE(locks.holds(pid));
}

}  // namespace
}  // namespace crest
