#include "checkpoint/scope_safety.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>

#include "sys/procfs.h"

namespace crest {

namespace {

// include/linux/sched.h: set for every kernel thread, and only for them. (A child of
// kthreadd is not necessarily one: usermode helpers such as modprobe or a core-dump
// handler are user processes that kthreadd forks.)
constexpr unsigned long kPfKthread = 0x00200000;

// What the checks need of one process, from /proc/PID/stat.
struct ProcessFacts {
  std::string comm;
  pid_t ppid = 0;
  unsigned long flags = 0;
};

Result<ProcessFacts> facts_of(pid_t pid) {
  auto fields = CR_TRY(read_stat_fields(pid));
  if (fields.size() < 10) return Error::corrupt(format("short /proc/%d/stat", pid));
  return ProcessFacts{fields[2], static_cast<pid_t>(std::strtol(fields[4].c_str(), nullptr, 10)),
                      std::strtoul(fields[9].c_str(), nullptr, 10)};
}

// The ancestors of pid (its parent, grandparent, ... up to the init of the namespace),
// each with the process it is an ancestor of.
void add_ancestors(pid_t pid, std::map<pid_t, pid_t>& out) {
  auto self = facts_of(pid);
  pid_t parent = self ? self->ppid : 0;
  // A bound, in case a parent dies and its pid is reused while we walk.
  for (int depth = 0; parent > 0 && depth < 4096; ++depth) {
    out.emplace(parent, pid);
    auto facts = facts_of(parent);
    if (!facts) break;
    parent = facts->ppid;
  }
}

// The signals the checkpoint sends every process of its scope that end or stop one.
std::vector<int> harmful_signals(const CheckpointOptions& opt) {
  std::vector<int> out;
  if (opt.after == AfterCheckpoint::Kill) out.push_back(SIGKILL);
  if (opt.after == AfterCheckpoint::Signal && signal_kills_or_stops(opt.after_signal)) out.push_back(opt.after_signal);
  if (opt.early_signal && signal_kills_or_stops(opt.early_signal)) out.push_back(opt.early_signal);
  return out;
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? format("SIG%s", abbrev) : format("signal %d", sig);
}

Error refused(std::string why) { return Error(ErrorKind::InvalidArgument, kErrUnsafeScope, std::move(why)); }

}  // namespace

bool signal_kills_or_stops(int sig) {
  return sig != SIGCONT && sig != SIGCHLD && sig != SIGURG && sig != SIGWINCH;
}

Result<void> check_scope_safety(const std::vector<pid_t>& members, const CheckpointOptions& opt) {
  const std::vector<int> harmful = harmful_signals(opt);
  std::map<pid_t, pid_t> ancestors;  // ancestor -> the process it is an ancestor of
  const bool by_hand = opt.requester == 0 || opt.requester == getpid();
  if (!harmful.empty()) {
    add_ancestors(getpid(), ancestors);
    if (!by_hand) add_ancestors(opt.requester, ancestors);
  }
  // The process that ran cr_checkpoint naming itself (`cr_checkpoint --kill --tree $$`
  // in a script, BLCR's self-checkpoint that ends the script) asks for its own end, as a
  // libcr requester may with cr_signal: allowed. Not when a session or group names it.
  // With a waiter (BLCR's fork), the process that ran cr_checkpoint is the waiter's
  // parent, and the waiter is cr_checkpoint itself.
  pid_t caller = getppid();
  if (opt.waiter) {
    auto waiter = facts_of(opt.waiter);
    caller = waiter ? waiter->ppid : 0;
    ancestors.erase(opt.waiter);
  }
  const bool names_itself = (opt.scope == Scope::Tree || opt.scope == Scope::Process) && opt.pid == caller;
  if (by_hand && names_itself) ancestors.erase(opt.pid);
  for (pid_t pid : members) {
    auto facts = facts_of(pid);
    if (!facts) {
      continue;  // exited: nothing to protect
    }
    if (facts->flags & kPfKthread) {
      return refused(format("process %d (%s) is a kernel thread: it has no user-space state to checkpoint", pid,
                            facts->comm.c_str()));
    }
    // crest names processes by the pids of /proc, where the init of cr_checkpoint's pid
    // namespace is 1 (were /proc an ancestor namespace's, 1 would be that one's init,
    // no safer to freeze). A child namespace's init has another pid here.
    if (pid == 1 && !opt.allow_init) {
      return refused(format("process 1 (%s) is the init of cr_checkpoint's pid namespace: freezing it stalls "
                            "everything that waits for it and killing it ends every process of the namespace "
                            "(--allow-init checkpoints it all the same)",
                            facts->comm.c_str()));
    }
    // Even then it is not killed or stopped (usually an ancestor anyway, but not of a
    // process that entered the namespace with setns()).
    if (pid == 1 && !harmful.empty()) {
      return refused(format("process 1 (%s) is the init of cr_checkpoint's pid namespace: %s after the checkpoint "
                            "would end or stop every process of the namespace, which --allow-init does not allow",
                            facts->comm.c_str(), signal_name(harmful[0]).c_str()));
    }
    auto ancestor = ancestors.find(pid);
    if (ancestor != ancestors.end()) {
      const bool of_self = ancestor->second == getpid();
      return refused(format("process %d (%s) is an ancestor of %s (the shell or job that started it), and "
                            "%s after the checkpoint would kill or stop it; without the after-action (the "
                            "default --run) it is checkpointed and runs on",
                            pid, facts->comm.c_str(),
                            of_self ? "cr_checkpoint" : format("the requesting process %d", opt.requester).c_str(),
                            signal_name(harmful[0]).c_str()));
    }
  }
  return {};
}

}  // namespace crest
