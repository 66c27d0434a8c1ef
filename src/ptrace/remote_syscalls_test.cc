#include "ptrace/remote_syscalls.h"

#include <cstring>

#include "ptrace/injection_area.h"

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

std::vector<std::pair<uint64_t, uint64_t>> areas(pid_t pid) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  auto maps = read_maps(pid);
  if (maps)
    for (auto& m : *maps) out.emplace_back(m.start, m.end);
  return out;
}

TEST(InjectionArea, RunsABatchInTheTraceeAndPutsItsRegistersBack) {
  PausedChild child;
  auto t = Tracee::seize(child.pid);
  ASSERT_TRUE(t.has_value()) << t.error().message();
  auto before = t->get_regs();
  ASSERT_TRUE(before.has_value());
  auto mask_before = t->get_sigmask();
  uint64_t code = first_exec_area(child.pid);
  const auto areas_before = areas(child.pid);
  uint8_t code_before[2];
  ASSERT_TRUE(t->read_memory(code, code_before, 2).has_value());
  {
    auto area = InjectionArea::create(*t, code, /*borrow_gadget=*/true);
    ASSERT_TRUE(area.has_value()) << area.error().message();
    std::vector<BatchCall> calls = {{SYS_getpid, {}}, {SYS_close, {12345}}, {SYS_getppid, {}}};
    auto results = (*area)->run(*t, calls);
    ASSERT_TRUE(results.has_value()) << results.error().message();
    ASSERT_EQ(results->size(), 3u);
    EXPECT_EQ((*results)[0], child.pid);
    EXPECT_EQ((*results)[1], -EBADF);
    EXPECT_EQ((*results)[2], getpid());
    // Between batches the thread is as it was (but for the re-entered pause).
    auto between = t->get_regs();
    ASSERT_TRUE(between.has_value());
    EXPECT_EQ(between->rip, before->rip - 2);
    EXPECT_EQ(*t->get_sigmask(), *mask_before);
  }
  auto after = t->get_regs();
  ASSERT_TRUE(after.has_value());
  // pause() was interrupted: the registers now re-enter it.
  EXPECT_EQ(after->rip, before->rip - 2);
  EXPECT_EQ(after->rax, static_cast<uint64_t>(SYS_pause));
  EXPECT_EQ(after->rsp, before->rsp);
  EXPECT_EQ(after->rbx, before->rbx);
  EXPECT_EQ(after->r12, before->r12);
  EXPECT_EQ(*t->get_sigmask(), *mask_before);
  uint8_t code_after[2];
  ASSERT_TRUE(t->read_memory(code, code_after, 2).has_value());
  EXPECT_EQ(memcmp(code_before, code_after, 2), 0);
  EXPECT_EQ(areas(child.pid), areas_before) << "the injection area is still mapped";
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
