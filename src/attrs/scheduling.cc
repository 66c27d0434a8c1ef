#include "attrs/scheduling.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/format.h"

namespace crest {

namespace {

struct SchedAttr {  // the kernel's struct sched_attr (SCHED_ATTR_SIZE_VER0)
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
};
constexpr uint64_t kResetOnFork = 0x01;  // SCHED_FLAG_RESET_ON_FORK

Result<SchedAttr> get_attr(pid_t tid) {
  SchedAttr a{};
  if (syscall(SYS_sched_getattr, tid, &a, sizeof a, 0) != 0) return Error::os(format("sched_getattr(%d)", tid));
  return a;
}

Result<void> set_attr(pid_t tid, SchedAttr a) {
  a.size = sizeof a;
  if (syscall(SYS_sched_setattr, tid, &a, 0) != 0) {
    const char* why = errno == EPERM ? " (a lower nice value or a real-time policy needs CAP_SYS_NICE, or RLIMIT_NICE/RLIMIT_RTPRIO)" : "";
    return Error::os(format("sched_setattr(%d): policy %u, priority %u, nice %d%s", tid, a.sched_policy, a.sched_priority,
                            a.sched_nice, why));
  }
  return {};
}

// sched_getattr reports no nice value under a real-time policy, but the thread keeps one
// (it is back when the policy is): getpriority tells it always.
Result<int32_t> get_nice(pid_t tid) {
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, tid);
  if (nice == -1 && errno != 0) return Error::os(format("getpriority(%d)", tid));
  return nice;
}

}  // namespace

Result<void> Scheduling::read(const ThreadProbe& probe, Record& rec) {
  SchedAttr a = CR_TRY(get_attr(probe.tid));
  a.sched_nice = CR_TRY(get_nice(probe.tid));
  rec.threads.push_back({probe.tid, a.sched_policy, a.sched_flags & kResetOnFork, a.sched_nice, a.sched_priority,
                         a.sched_runtime, a.sched_deadline, a.sched_period});
  return {};
}

Result<void> Scheduling::restore(const RestoreTarget& target, const Record& rec) {
  for (const Thread& saved : rec.threads) {
    const RestoreThread* t = target.thread(saved.tid);
    if (!t) return Error::corrupt(format("scheduling of thread %d, which the image does not have", saved.tid));
    SchedAttr now = CR_TRY(get_attr(t->tid));
    SchedAttr want{};
    want.sched_policy = saved.policy;
    want.sched_flags = saved.flags & kResetOnFork;
    want.sched_nice = saved.nice;
    want.sched_priority = saved.priority;
    want.sched_runtime = saved.runtime;
    want.sched_deadline = saved.deadline;
    want.sched_period = saved.period;
    const bool same = now.sched_policy == want.sched_policy && (now.sched_flags & kResetOnFork) == want.sched_flags &&
                      now.sched_priority == want.sched_priority && now.sched_runtime == want.sched_runtime &&
                      now.sched_deadline == want.sched_deadline && now.sched_period == want.sched_period;
    if (!same) CR_TRY(set_attr(t->tid, want), "thread %d", saved.tid);
    // Real-time and idle policies keep the nice value they find: set it on its own.
    if (CR_TRY(get_nice(t->tid)) != saved.nice && setpriority(PRIO_PROCESS, t->tid, saved.nice) != 0)
      return Error::os(format("setpriority(%d, nice %d) for thread %d%s", t->tid, saved.nice, saved.tid,
                              errno == EACCES || errno == EPERM ? " (a lower nice value needs CAP_SYS_NICE or RLIMIT_NICE)" : ""));
  }
  return {};
}

}  // namespace crest
