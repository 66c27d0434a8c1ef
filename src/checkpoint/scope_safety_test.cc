#include "checkpoint/scope_safety.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "sys/procfs.h"

namespace crest {
namespace {

constexpr unsigned long kPfKthread = 0x00200000;

CheckpointOptions with_after(AfterCheckpoint after, int sig = 0) {
  CheckpointOptions opt;
  opt.after = after;
  opt.after_signal = sig;
  return opt;
}

// Expects a refusal with kErrUnsafeScope whose message names `pid`.
void expect_refused(const Result<void>& r, pid_t pid) {
  ASSERT_FALSE(r.has_value()) << "process " << pid << " was not refused";
  EXPECT_EQ(r.error().error_number(), kErrUnsafeScope);
  EXPECT_NE(r.error().message().find(format("process %d ", pid)), std::string::npos) << r.error().message();
}

// A child that waits in pause() until the destructor kills and reaps it.
struct PausedChild {
  pid_t pid = fork();
  PausedChild() {
    if (pid == 0) {
      pause();
      _exit(0);
    }
  }
  ~PausedChild() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

TEST(ScopeSafety, SignalsThatKillOrStopAreTheDefaultActionOnes) {
  for (int sig : {SIGKILL, SIGTERM, SIGSTOP, SIGTSTP, SIGABRT, SIGUSR1, SIGHUP, SIGRTMIN}) {
    EXPECT_TRUE(signal_kills_or_stops(sig)) << sig;
  }
  for (int sig : {SIGCONT, SIGCHLD, SIGURG, SIGWINCH}) {
    EXPECT_FALSE(signal_kills_or_stops(sig)) << sig;
  }
}

TEST(ScopeSafety, RefusesInitOfOurPidNamespaceEvenWithRun) {
  expect_refused(check_scope_safety({1}, with_after(AfterCheckpoint::Run)), 1);
}

TEST(ScopeSafety, AllowInitAcceptsInitButNeverItsKill) {
  CheckpointOptions opt = with_after(AfterCheckpoint::Run);
  opt.allow_init = true;
  EXPECT_TRUE(check_scope_safety({1}, opt).has_value());
  opt.after = AfterCheckpoint::Kill;
  expect_refused(check_scope_safety({1}, opt), 1);
}

TEST(ScopeSafety, RefusesKernelThreadByName) {
  pid_t kthread = 0;
  std::string comm;
  for (pid_t pid : list_all_pids()) {
    auto fields = read_stat_fields(pid);
    if (fields && fields->size() > 9 && (std::strtoul((*fields)[9].c_str(), nullptr, 10) & kPfKthread)) {
      kthread = pid;
      comm = (*fields)[2];
      break;
    }
  }
  ASSERT_NE(kthread, 0) << "no kernel thread in /proc: run the unit tests in the root pid namespace";
  auto r = check_scope_safety({kthread}, with_after(AfterCheckpoint::Run));
  expect_refused(r, kthread);
  EXPECT_NE(r.error().message().find("(" + comm + ") is a kernel thread"), std::string::npos) << r.error().message();
}

TEST(ScopeSafety, RefusesOurParentOnlyWhenTheAfterActionKillsOrStopsIt) {
  const pid_t parent = getppid();
  EXPECT_TRUE(check_scope_safety({parent}, with_after(AfterCheckpoint::Run)).has_value());
  EXPECT_TRUE(check_scope_safety({parent}, with_after(AfterCheckpoint::Signal, SIGCONT)).has_value());
  expect_refused(check_scope_safety({parent}, with_after(AfterCheckpoint::Kill)), parent);
  expect_refused(check_scope_safety({parent}, with_after(AfterCheckpoint::Signal, SIGSTOP)), parent);
  CheckpointOptions early = with_after(AfterCheckpoint::Run);
  early.early_signal = SIGABRT;
  expect_refused(check_scope_safety({parent}, early), parent);
}

TEST(ScopeSafety, OurParentNamingItselfMayAskForItsEndButNotThroughItsSessionOrGroup) {
  const pid_t parent = getppid();
  CheckpointOptions opt = with_after(AfterCheckpoint::Kill);
  opt.pid = parent;
  for (Scope scope : {Scope::Tree, Scope::Process}) {
    opt.scope = scope;
    EXPECT_TRUE(check_scope_safety({parent}, opt).has_value()) << scope_name(scope);
  }
  for (Scope scope : {Scope::Session, Scope::ProcessGroup}) {
    opt.scope = scope;
    expect_refused(check_scope_safety({parent}, opt), parent);
  }
  // Only the parent itself: its own parent in the same scope stays protected.
  auto grandparent = read_stat_fields(parent);
  ASSERT_TRUE(grandparent.has_value());
  const pid_t above = static_cast<pid_t>(std::strtol((*grandparent)[4].c_str(), nullptr, 10));
  ASSERT_GT(above, 0) << "the test's parent has no parent in this pid namespace";
  opt.scope = Scope::Tree;
  expect_refused(check_scope_safety({above, parent}, opt), above);
}

TEST(ScopeSafety, RefusesAncestorsOfTheRequestingProcess) {
  PausedChild requester;
  ASSERT_GT(requester.pid, 0);
  CheckpointOptions opt = with_after(AfterCheckpoint::Kill);
  // We are the requester's parent, and no ancestor of our own.
  EXPECT_TRUE(check_scope_safety({getpid()}, opt).has_value());
  opt.requester = requester.pid;
  auto r = check_scope_safety({getpid()}, opt);
  expect_refused(r, getpid());
  EXPECT_NE(r.error().message().find(format("requesting process %d", requester.pid)), std::string::npos)
      << r.error().message();
  // The requester itself may ask for its own end (BLCR's cr_signal).
  EXPECT_TRUE(check_scope_safety({requester.pid}, opt).has_value());
}

TEST(ScopeSafety, PassesOverProcessesThatExited) {
  pid_t gone = fork();
  if (gone == 0) _exit(0);
  ASSERT_EQ(waitpid(gone, nullptr, 0), gone);
  EXPECT_TRUE(check_scope_safety({gone}, with_after(AfterCheckpoint::Kill)).has_value());
}

}  // namespace
}  // namespace crest
