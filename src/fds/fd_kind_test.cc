#include "fds/fd_kind.h"

#include <gtest/gtest.h>

#include <set>

#include "fds/epoll.h"
#include "fds/fd_table.h"
#include "fds/inotify.h"
#include "fds/timerfd.h"
#include "fds/unix_socket.h"

namespace crest {
namespace {

TEST(FdKindTable, EveryKindHasItsOwnEntry) {
  std::set<FdKind> seen;
  for (const FdKindOps* ops : fd_kinds()) {
    EXPECT_TRUE(seen.insert(ops->kind).second) << ops->name << " is listed twice";
    EXPECT_EQ(fd_kind_ops(ops->kind), ops) << ops->name;
    EXPECT_NE(ops->print, nullptr) << ops->name << " cannot be printed by cr_info";
    EXPECT_TRUE(ops->detect || !ops->dump) << ops->name << " dumps what it never detects";
  }
  // Every number the enum has (1..20, 23..24, 26..27, 29) is in the table, and nothing else.
  for (unsigned k = 0; k < 256; ++k) {
    bool listed = seen.count(static_cast<FdKind>(k)) > 0;
    EXPECT_EQ(fd_kind_ops(static_cast<FdKind>(k)) != nullptr, listed) << "kind " << k;
  }
  EXPECT_EQ(seen.size(), 25u);
}

TEST(FdKindTable, SpecialCasesAreDetectedFirst) {
  auto position = [](FdKind k) {
    auto kinds = fd_kinds();
    for (size_t i = 0; i < kinds.size(); ++i)
      if (kinds[i]->kind == k) return i;
    return kinds.size();
  };
  EXPECT_LT(position(FdKind::Deleted), position(FdKind::Regular));
  EXPECT_LT(position(FdKind::Pidfd), position(FdKind::Regular));  // a pidfs inode is S_ISREG
  EXPECT_LT(position(FdKind::Terminal), position(FdKind::Device));
  EXPECT_LT(position(FdKind::Fifo), position(FdKind::Pipe));
  EXPECT_EQ(position(FdKind::OPath), 0u);
}

TEST(FdRecord, PayloadRoundTripsWithItsKind) {
  FdRecord rec;
  rec.fd = 7;
  EpollRecord e;
  e.targets = {{3, 1, 0xdead}, {4, 4, 0xbeef}};
  set_payload(rec, FdKind::Epoll, e);
  EXPECT_EQ(rec.kind, FdKind::Epoll);
  auto bytes = encode_record(rec);
  auto back = decode_record<FdRecord>(bytes, "FdTable");
  ASSERT_TRUE(back.has_value());
  auto payload = payload_of<EpollRecord>(*back);
  ASSERT_TRUE(payload.has_value());
  ASSERT_EQ(payload->targets.size(), 2u);
  EXPECT_EQ(payload->targets[1].fd, 4);
  EXPECT_EQ(payload->targets[1].data, 0xbeefu);
}

TEST(FdRecord, TruncatedPayloadIsCorruptNamingTheFd) {
  FdRecord rec;
  rec.fd = 9;
  set_payload(rec, FdKind::TimerFd, TimerFdRecord{1, 2, 3, 4, 5, 6});
  for (size_t len = 0; len < rec.payload.size(); ++len) {
    FdRecord cut = rec;
    cut.payload.resize(len);
    auto r = payload_of<TimerFdRecord>(cut);
    ASSERT_FALSE(r.has_value()) << len;
    EXPECT_EQ(r.error().kind(), ErrorKind::CorruptImage);
    EXPECT_NE(r.error().message().find("fd 9 (timerfd)"), std::string::npos) << r.error().message();
  }
}

TEST(FdTable, PrintsPayloadFieldsByName) {
  FdTableRecord table;
  FdRecord sock;
  sock.fd = 5;
  sock.path = "socket:[77]";
  UnixSocketRecord s;
  s.inode = 77;
  s.name = "/tmp/x.sock";
  set_payload(sock, FdKind::UnixSocket, s);
  table.fds.push_back(sock);
  FdRecord in;
  in.fd = 6;
  set_payload(in, FdKind::Inotify, InotifyRecord{{{1, 2, "/etc"}}});
  table.fds.push_back(in);
  std::string out;
  ASSERT_TRUE(print_fd_table(table, out, 1).has_value());
  EXPECT_NE(out.find("payload (unix socket):"), std::string::npos) << out;
  EXPECT_NE(out.find("inode: 77"), std::string::npos) << out;
  EXPECT_NE(out.find("name: \"/tmp/x.sock\""), std::string::npos) << out;
  EXPECT_NE(out.find("path: \"/etc\""), std::string::npos) << out;
  EXPECT_EQ(out.find("payload: <"), std::string::npos) << "payload printed as bytes:\n" << out;
}

}  // namespace
}  // namespace crest
