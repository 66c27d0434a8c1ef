// Cooperation with libcr (docs/libcr.md steps 1-6 and 8; messages in libcr/protocol.h):
// before the freeze, every process of the scope that has libcr (or libcr_run/_omit)
// loaded and CR_SIGNUM caught is signalled, connects to our channel, runs its callbacks
// and answers Ready with its decision. After the image it gets its Result and answers
// Done. Processes without libcr are checkpointed transparently and see none of this.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "checkpoint/busy_lock.h"
#include "checkpoint/checkpointer.h"
#include "checkpoint/frozen_tree.h"

namespace crest {

// Warnings of one checkpoint: printed on stderr as before and passed to
// CheckpointOptions::log (cr_log_checkpoint(), --kmsg-*). Installed for the duration of
// checkpoint_process(); warn() with no sink installed only prints.
class WarningSink {
 public:
  explicit WarningSink(std::function<void(const std::string&)> log);
  ~WarningSink();
  WarningSink(const WarningSink&) = delete;
  WarningSink& operator=(const WarningSink&) = delete;

 private:
  std::function<void(const std::string&)> previous_;
};
// One line, without "cr_checkpoint: warning: " (added when printed).
void warn(const std::string& line);

// Whether pid has one of libcr's three libraries mapped and CR_SIGNUM caught.
bool cooperates(pid_t pid);

// One cooperating process of the checkpoint.
struct CoopProcess {
  pid_t pid = 0;
  Fd pidfd;               // readable once it exits
  Fd conn;                // its channel connection, once it connected
  bool hello = false, ready = false, result_sent = false, done = false, gone = false;
  int32_t channel_fd = -1;  // Hello.channel_fd: the socket's number in the process
  uint32_t lib = 0;
  uint32_t decision = 0;
  std::vector<int> handles;  // Ready.handles
  bool was_stopped = false;  // job-control stopped when signalled (continued for its callbacks)
  int raised = 0;            // Done.raised: the after-signal libcr raised itself
};

class Cooperation {
 public:
  // Steps 1-6: busy locks on every process of the scope, the request-time checks
  // (prohibit_self, ptrace policy, require_libcr), the signals, opt.accepted(), then
  // Hello/Request/Forward/Ready until every cooperating process is ready or gone, and
  // the decision: PERM kills the checkpoint's processes, TEMP ends it (both errors);
  // OMIT leaves a process out. ESRCH if nothing is left.
  static Result<Cooperation> start(const CheckpointOptions& opt);

  Cooperation() = default;
  Cooperation(Cooperation&&) = default;
  Cooperation& operator=(Cooperation&&) = default;

  // What to freeze: the request's scope and the forwarded ones, minus `excluded()`
  // (OMIT, or exited/exec'd during the callbacks).
  const std::vector<ScopeSpec>& scopes() const { return scopes_; }
  const std::set<pid_t>& excluded() const { return excluded_; }
  BusyLocks& locks() { return locks_; }
  // The cooperating process pid, or nullptr (transparent, or left out).
  const CoopProcess* find(pid_t pid) const;
  bool was_stopped(pid_t pid) const;
  bool any() const { return !procs_.empty(); }

  // Result(value) to every cooperating process still in the checkpoint (value 0 after the
  // image, -errno after a failure) and Result(-CR_EOMITTED) to those that omitted
  // themselves.
  void send_results(int value);
  // Waits up to timeout_ms for Done from every process that got a Result (a process
  // that exits counts as done); reports those that never answer.
  void wait_done(int timeout_ms, const std::function<bool()>& cancelled);
  bool done(pid_t pid) const;
  // SIGSTOP again to the processes that were stopped when signalled (continued for their
  // callbacks): all of them, or only those left out of the checkpoint.
  void restop_stopped();
  void restop_omitted();
  // Ready cooperating processes that were checkpointed (not omitted).
  std::vector<pid_t> checkpointed() const;
  // The positive after-action to every checkpointed cooperating process, except those
  // whose libcr raised it itself inside its handler (Done.raised).
  void send_after_signal(int sig);

 private:
  Result<void> add_members(const std::vector<pid_t>& pids, const CheckpointOptions& opt);
  Result<void> signal_new(const CheckpointOptions& opt);
  Result<void> serve(const CheckpointOptions& opt);
  Result<void> on_message(CoopProcess& p, const uint8_t* msg, size_t len, const CheckpointOptions& opt);
  Result<void> decide(const CheckpointOptions& opt);
  void drop(CoopProcess& p, const char* why);
  void send_result(CoopProcess& p, int value);

  BusyLocks locks_;
  std::vector<ScopeSpec> scopes_;
  std::set<pid_t> members_;   // every process of the checkpoint (cooperating or not)
  std::set<pid_t> skipped_;   // left out by the ptrace policy
  std::set<pid_t> excluded_;  // omitted or dropped
  std::map<pid_t, CoopProcess> procs_;
  std::vector<pid_t> to_signal_;
  Fd listener_;
  uint64_t token_ = 0;
};

}  // namespace crest
