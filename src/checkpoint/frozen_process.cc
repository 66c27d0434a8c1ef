#include "checkpoint/frozen_process.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "sys/procfs.h"

namespace crest {

Result<FrozenProcess> FrozenProcess::freeze(pid_t pid) {
  FrozenProcess fp(pid);
  fp.threads_.push_back(CR_TRY(Tracee::seize(pid)));
  std::set<pid_t> seized{pid};
  // A thread not yet frozen can create another: scan until a scan finds nothing new.
  for (int round = 0;; ++round) {
    bool found = false;
    for (pid_t tid : list_tasks(pid)) {
      if (seized.count(tid)) continue;
      found = true;
      auto t = Tracee::seize(tid);
      if (!t) {
        if (::kill(tid, 0) != 0) continue;  // exited meanwhile: nothing to save
        return t.error().context(format("thread %d of process %d", tid, pid));
      }
      seized.insert(tid);
      fp.threads_.push_back(std::move(*t));
    }
    if (!found) break;
    if (round > 1000) return Error::os(format("process %d keeps creating threads; cannot freeze it", pid), EAGAIN);
  }
  // Threads that exited while we seized the others are gone from /proc.
  auto alive = list_tasks(pid);
  std::erase_if(fp.threads_, [&](const Tracee& t) {
    return t.tid() != pid && std::find(alive.begin(), alive.end(), t.tid()) == alive.end();
  });
  return fp;
}

namespace {

// PTRACE_DETACH fails with ESRCH once a fatal signal is pending (an after-action of
// -S 9, say, sent while the thread was frozen): the thread leaves its ptrace stop to
// exit. That is what was asked for, not a failure. Waits (up to 2 s) until the thread
// is a zombie or gone; a thread that stays in its ptrace stop is detached again.
Result<void> detach_or_vanished(Tracee& t) {
  auto r = t.detach();
  if (r || r.error().kind() != ErrorKind::TraceeGone) return r;
  for (int i = 0; i < 2000; ++i) {
    auto stat = read_stat_fields(t.tid());
    if (!stat || stat->size() < 4) return {};  // reaped: gone
    const std::string& state = (*stat)[3];
    if (state == "Z" || state == "X" || state == "x") return {};
    if (state == "t" && t.detach()) return {};
    usleep(1000);
  }
  return r;
}

}  // namespace

Result<void> FrozenProcess::thaw() {
  Result<void> first;
  for (auto& t : threads_) {
    auto r = detach_or_vanished(t);
    if (!r && first) first = r;
  }
  return first;
}

void FrozenProcess::kill_now() {
  for (auto& t : threads_) t.set_on_drop(Tracee::OnDrop::Kill);
  ::kill(pid_, SIGKILL);
  for (auto& t : threads_) t.kill_now();
}

}  // namespace crest
