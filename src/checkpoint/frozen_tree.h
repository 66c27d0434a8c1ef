// FrozenTree: every process of a checkpoint scope frozen, parents before children.
// Freezes in rounds until a round finds no new process (a process not yet frozen can
// fork); detaches (or kills) everything when dropped. Zombies cannot be frozen (or need
// to be): they are listed with their exit status.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <set>
#include <vector>

#include "base/result.h"
#include "checkpoint/frozen_process.h"

namespace crest {

// BLCR's scopes (CR_SCOPE_PROC, _TREE, _PGRP, _SESS).
enum class Scope { Process, Tree, ProcessGroup, Session };

// BLCR's --ptraced-error/-skip/-allow and --ptracer-error/-skip.
enum class PtracedPolicy { Error, Skip, Allow };
enum class PtracerPolicy { Error, Skip };
struct TracePolicy {
  PtracedPolicy traced = PtracedPolicy::Error;
  PtracerPolicy tracer = PtracerPolicy::Error;
};
inline constexpr int kErrPtraced = 56;  // BLCR's CR_EPTRACED
inline constexpr int kErrPtracer = 57;  // BLCR's CR_EPTRACER

struct Zombie {
  pid_t pid, ppid;
  int wait_status;  // as waitpid() would report it
};

// One scope of a checkpoint: the request's own, or one added by cr_forward_checkpoint().
struct ScopeSpec {
  Scope scope;
  pid_t id;
};

struct FreezeSpec {
  std::vector<ScopeSpec> scopes;  // the union is frozen; scopes[0] names it in messages
  TracePolicy policy;
  std::set<pid_t> exclude;        // left out (processes that OMITted themselves)
  // Called for each member before it is frozen (busy locks for processes that appeared
  // since the request was checked); an error fails the freeze.
  std::function<Result<void>(pid_t)> admit;
};

// The members of a scope as it is now (cr_checkpoint itself left out), zombies included.
std::vector<pid_t> scope_members(Scope scope, pid_t id);
// Whether a process can be frozen under the ptrace policy: false = leave it out (skip),
// an error (exit 56/57) otherwise. `tracers` is all_tracers()'s map, read once for many
// processes: tracee -> tracer of every traced process.
Result<bool> trace_check(pid_t pid, TracePolicy policy, const std::map<pid_t, pid_t>& tracers);
std::map<pid_t, pid_t> all_tracers();
const char* scope_name(Scope s);

class FrozenTree {
 public:
  static Result<FrozenTree> freeze(Scope scope, pid_t id, TracePolicy policy = {});
  static Result<FrozenTree> freeze(const FreezeSpec& spec);

  // Live processes: each parent before its children; top-level processes (parent not
  // in the scope) by start time, so processes()[0] is the eldest.
  std::vector<FrozenProcess>& processes() { return processes_; }
  const std::vector<Zombie>& zombies() const { return zombies_; }
  // Whether pid was job-control stopped when the freeze found it (a seized process
  // shows 't' afterwards, so this is the only place that knows).
  bool was_stopped(pid_t pid) const { return stopped_.count(pid) > 0; }
  // The signal it was stopped with (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU); 0 if running.
  int stop_signal(pid_t pid) const;
  Result<void> thaw();
  void kill_now();

 private:
  std::vector<FrozenProcess> processes_;
  std::vector<Zombie> zombies_;
  std::map<pid_t, int> stopped_;  // pid -> its stop signal
};

}  // namespace crest
