#include "fds/socket_options.h"

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fd.h"
#include "image/codec.h"

namespace crest {
namespace {

void set_int(int s, int opt, int v) { ASSERT_EQ(setsockopt(s, SOL_SOCKET, opt, &v, sizeof v), 0) << opt; }

// Options set on one socket, read, and applied to a fresh one read back the same.
TEST(SocketOptions, ReadAndApplyRoundTrip) {
  Fd a(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(a.valid());
  set_int(a.get(), SO_REUSEADDR, 1);
  set_int(a.get(), SO_KEEPALIVE, 1);
  set_int(a.get(), SO_OOBINLINE, 1);
  set_int(a.get(), SO_PRIORITY, 5);
  set_int(a.get(), SO_RCVLOWAT, 7);
  set_int(a.get(), SO_RCVBUF, 12345);
  set_int(a.get(), SO_TIMESTAMPNS_OLD, 1);
  linger l{1, 9};
  ASSERT_EQ(setsockopt(a.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
  timeval tv{3, 200000};  // a whole number of jiffies at HZ 100, 250 or 1000
  ASSERT_EQ(setsockopt(a.get(), SOL_SOCKET, SO_RCVTIMEO_OLD, &tv, sizeof tv), 0);
  auto saved = read_socket_options(a.get());
  ASSERT_TRUE(saved) << saved.error().message();
  EXPECT_EQ(saved->reuseaddr, 1);
  EXPECT_EQ(saved->priority, 5);
  EXPECT_EQ(saved->linger_seconds, 9);
  EXPECT_EQ(saved->rcvtimeo_us, 3200000);
  EXPECT_EQ(saved->timestampns, 1);

  Fd b(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(b.valid());
  auto fresh = read_socket_options(b.get());
  ASSERT_TRUE(fresh);
  EXPECT_NE(fresh->rcvbuf, saved->rcvbuf);
  auto applied = apply_socket_options(b.get(), *saved);
  ASSERT_TRUE(applied) << applied.error().message();
  auto again = read_socket_options(b.get());
  ASSERT_TRUE(again);
  std::vector<uint8_t> want = encode_record(*saved), got = encode_record(*again);
  EXPECT_EQ(want, got);
}

// A socket filter cannot be read back as it was attached: refused by name.
TEST(SocketOptions, FilterIsRefused) {
  Fd a(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, 0xffff}};
  sock_fprog prog{1, code};
  ASSERT_EQ(setsockopt(a.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog), 0);
  auto r = read_socket_options(a.get());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::Unsupported);
  EXPECT_NE(r.error().message().find("SO_ATTACH_FILTER"), std::string::npos);
}

// A buffer above net.core.rmem_max for a user without CAP_NET_ADMIN is refused by name
// (as root, SO_RCVBUFFORCE reaches it).
TEST(SocketOptions, UnreachableBufferNamed) {
  Fd a(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  SocketOptions want = *read_socket_options(a.get());
  want.rcvbuf = 1 << 30;
  auto r = apply_socket_options(a.get(), want);
  if (geteuid() == 0) {
    EXPECT_TRUE(r) << r.error().message();
  } else {
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("SO_RCVBUF"), std::string::npos);
  }
}

}  // namespace
}  // namespace crest
