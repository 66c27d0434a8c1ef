#include "ptrace/remote_syscalls.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/procfs.h"

namespace crest {
namespace {

// A child blocked in pause(), killed and reaped on scope exit.
struct PausedChild {
  pid_t pid;
  PausedChild() {
    pid = fork();
    if (pid == 0) {
      for (;;) pause();
    }
    usleep(20000);
  }
  ~PausedChild() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

uint64_t first_exec_area(pid_t pid) {
  auto maps = read_maps(pid);
  for (auto& m : *maps)
    if (m.exec && !m.path.empty() && m.path[0] == '/') return m.start;
  return 0;
}

TEST(AutoRemoteSyscalls, RunsSyscallsInTheTraceeAndRestoresItsRegisters) {
  PausedChild child;
  auto t = Tracee::seize(child.pid);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  auto before = t->get_regs();
  ASSERT_TRUE(before.has_value());
  auto mask_before = t->get_sigmask();
  {
    auto s = AutoRemoteSyscalls::create(*t, first_exec_area(child.pid));
    ASSERT_TRUE(s.has_value()) << s.error().message();
    auto pid = (*s)->sys().call("getpid", SYS_getpid);
    ASSERT_TRUE(pid.has_value());
    EXPECT_EQ(static_cast<pid_t>(*pid), child.pid);
    auto bad = (*s)->sys().call("close", SYS_close, {12345});
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().error_number(), EBADF);
    EXPECT_EQ(bad.error().kind(), ErrorKind::RemoteOs);
  }
  auto after = t->get_regs();
  ASSERT_TRUE(after.has_value());
  // pause() was interrupted: the registers now re-enter it.
  EXPECT_EQ(after->rip, before->rip - 2);
  EXPECT_EQ(after->rax, static_cast<uint64_t>(SYS_pause));
  EXPECT_EQ(after->rsp, before->rsp);
  EXPECT_EQ(*t->get_sigmask(), *mask_before);
}

TEST(RewindInterruptedSyscall, ResumesNanosleepWithTheRemainingTime) {
  user_regs_struct r{};
  r.orig_rax = SYS_nanosleep;
  r.rax = static_cast<uint64_t>(-516);  // -ERESTART_RESTARTBLOCK
  r.rip = 0x1002;
  r.rdi = 0x5000;  // req
  r.rsi = 0x6000;  // rem
  rewind_interrupted_syscall(r, false);
  EXPECT_EQ(r.rip, 0x1000u);
  EXPECT_EQ(r.rax, static_cast<uint64_t>(SYS_nanosleep));
  EXPECT_EQ(r.rdi, 0x6000u);
  EXPECT_EQ(r.orig_rax, static_cast<uint64_t>(-1));
}

TEST(RewindInterruptedSyscall, LeavesCompletedSyscallsAlone) {
  user_regs_struct r{};
  r.orig_rax = SYS_read;
  r.rax = static_cast<uint64_t>(-4);  // -EINTR: already returned to the program
  r.rip = 0x1002;
  rewind_interrupted_syscall(r, false);
  EXPECT_EQ(r.rip, 0x1002u);
  EXPECT_EQ(r.rax, static_cast<uint64_t>(-4));
}

}  // namespace
}  // namespace crest
