#include "checkpoint/frozen_tree.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "sys/procfs.h"

namespace crest {

namespace {

struct ProcInfo {
  pid_t pid = 0, ppid = 0, pgid = 0, sid = 0;
  char state = '?';
  unsigned long long start = 0;
  int exit_code = 0;
};

Result<ProcInfo> proc_info(pid_t pid) {
  auto f = CR_TRY(read_stat_fields(pid));
  if (f.size() < 53) return Error::corrupt(format("short /proc/%d/stat", pid));
  ProcInfo p;
  p.pid = pid;
  p.state = f[3].empty() ? '?' : f[3][0];
  p.ppid = std::stoi(f[4]);
  p.pgid = std::stoi(f[5]);
  p.sid = std::stoi(f[6]);
  p.start = std::stoull(f[22]);
  p.exit_code = std::stoi(f[52]);
  return p;
}

// The members of the scope as it is now.
std::vector<ProcInfo> members(Scope scope, pid_t id) {
  std::vector<ProcInfo> out;
  auto add = [&](pid_t p) {
    auto info = proc_info(p);
    if (info) out.push_back(*info);
  };
  switch (scope) {
    case Scope::Process: {
      // BLCR: a process may be named by any of its threads' ids.
      pid_t tgid = id;
      if (auto st = read_status(id)) {
        pid_t t = static_cast<pid_t>(std::strtol(st->get("Tgid").c_str(), nullptr, 10));
        if (t > 0) tgid = t;
      }
      add(tgid);
      break;
    }
    case Scope::Tree:
      add(id);
      for (pid_t c : list_descendants(id)) add(c);
      break;
    case Scope::ProcessGroup:
    case Scope::Session:
      for (pid_t p : list_all_pids()) {
        auto info = proc_info(p);
        if (!info) continue;
        if ((scope == Scope::ProcessGroup ? info->pgid : info->sid) == id) out.push_back(*info);
      }
      break;
  }
  return out;
}

// The tracer of pid (TracerPid in /proc/PID/status), 0 if none.
pid_t tracer_of(pid_t pid) {
  auto st = read_status(pid);
  return st ? static_cast<pid_t>(std::strtol(st->get("TracerPid").c_str(), nullptr, 10)) : 0;
}

}  // namespace

const char* scope_name(Scope s) {
  switch (s) {
    case Scope::Process: return "process";
    case Scope::Tree: return "process tree";
    case Scope::ProcessGroup: return "process group";
    case Scope::Session: return "session";
  }
  return "?";
}

std::vector<pid_t> scope_members(Scope scope, pid_t id) {
  std::vector<pid_t> out;
  for (const ProcInfo& p : members(scope, id))
    if (p.pid != getpid()) out.push_back(p.pid);
  return out;
}

// ptrace gives a process one tracer: one traced by someone else cannot be frozen, and
// a tracer's tracees would come back untraced.
std::map<pid_t, pid_t> all_tracers() {
  std::map<pid_t, pid_t> out;
  for (pid_t p : list_all_pids())
    if (pid_t t = tracer_of(p)) out[p] = t;
  return out;
}

Result<bool> trace_check(pid_t pid, TracePolicy policy, const std::map<pid_t, pid_t>& tracers) {
  auto it = tracers.find(pid);
  const pid_t tracer = it == tracers.end() ? 0 : it->second;
  if (tracer != 0 && tracer != getpid()) {
    if (policy.traced == PtracedPolicy::Skip) return false;
    return Error(ErrorKind::Unsupported, kErrPtraced, format("process %d is being traced by process %d%s", pid, tracer,
                            policy.traced == PtracedPolicy::Allow
                                ? "; a process has one tracer, so crest cannot freeze it even with --ptraced-allow"
                                : " (--ptraced-skip leaves it out of the checkpoint)"));
  }
  std::vector<pid_t> tracees;
  for (auto& [tracee, t] : tracers)
    if (t == pid && tracee != pid) tracees.push_back(tracee);
  if (!tracees.empty()) {
    if (policy.tracer == PtracerPolicy::Skip) return false;
    return Error(ErrorKind::Unsupported, kErrPtracer,
                 format("process %d is tracing process %d (--ptracer-skip leaves it out of the checkpoint)", pid, tracees[0]));
  }
  return true;
}

Result<FrozenTree> FrozenTree::freeze(Scope scope, pid_t id, TracePolicy policy) {
  FreezeSpec spec;
  spec.scopes = {{scope, id}};
  spec.policy = policy;
  return freeze(spec);
}

Result<FrozenTree> FrozenTree::freeze(const FreezeSpec& spec) {
  const Scope scope = spec.scopes.at(0).scope;
  const pid_t id = spec.scopes.at(0).id;
  FrozenTree tree;
  std::map<pid_t, ProcInfo> seen;
  std::set<pid_t> skipped;
  // Freeze what the scope holds; a member not yet frozen may fork, so scan again until
  // a scan finds nothing new.
  for (int round = 0;; ++round) {
    bool found = false;
    std::vector<ProcInfo> now;
    for (const ScopeSpec& s : spec.scopes)
      for (ProcInfo& p : members(s.scope, s.id)) now.push_back(p);
    const std::map<pid_t, pid_t> tracers = all_tracers();  // one /proc scan per round
    for (const ProcInfo& p : now) {
      if (seen.count(p.pid) || p.pid == getpid() || spec.exclude.count(p.pid)) continue;  // cr_checkpoint leaves itself out
      found = true;
      seen[p.pid] = p;
      if (spec.admit) CR_TRY(spec.admit(p.pid));
      if (p.state == 'Z') continue;  // a zombie: saved with its exit status
      if (!CR_TRY(trace_check(p.pid, spec.policy, tracers))) {
        skipped.insert(p.pid);
        continue;
      }
      auto fp = FrozenProcess::freeze(p.pid);
      if (!fp) {
        // Exited meanwhile (the kernel refuses to attach to an exiting task with EPERM):
        // a zombie now, or gone; the next scan sees which.
        auto now = proc_info(p.pid);
        bool exiting = !now || now->state == 'Z' || now->state == 'X';
        if (fp.error().kind() == ErrorKind::TraceeGone || fp.error().error_number() == ESRCH || exiting) {
          seen.erase(p.pid);
          continue;
        }
        return fp.error().context(format("%s %d: member %d", scope_name(scope), id, p.pid));
      }
      if (p.state == 'T') tree.stopped_[p.pid] = fp->leader().seized_stop_signal();
      tree.processes_.push_back(std::move(*fp));
    }
    if (!found) break;
    if (round > 1000) return Error::os(format("the %s %d keeps changing; cannot freeze it", scope_name(scope), id), EAGAIN);
  }
  if (seen.empty() || tree.processes_.empty())
    return Error(ErrorKind::Os, ESRCH, format("no such %s %d", scope_name(scope), id));
  // Refresh what the freeze may have changed (a member that exited meanwhile).
  for (auto& [pid, info] : seen) {
    auto now = proc_info(pid);
    if (now) info = *now;
  }
  for (pid_t p : skipped) seen.erase(p);
  for (auto& [pid, info] : seen)
    if (info.state == 'Z') {
      // Only a zombie whose parent is restored can be reaped after a restart.
      if (seen.count(info.ppid) && seen[info.ppid].state != 'Z') {
        // /proc's exit_code is the waitpid() status.
        tree.zombies_.push_back({pid, info.ppid, info.exit_code});
      }
    }
  // Order: top-level processes by start time, each followed (breadth-first) by its
  // descendants in the scope.
  std::vector<FrozenProcess> live = std::move(tree.processes_);
  tree.processes_.clear();
  std::vector<ProcInfo> top;
  for (auto& fp : live) {
    const ProcInfo& info = seen[fp.pid()];
    if (!seen.count(info.ppid)) top.push_back(info);
  }
  std::sort(top.begin(), top.end(), [](const ProcInfo& a, const ProcInfo& b) { return a.start < b.start || (a.start == b.start && a.pid < b.pid); });
  std::vector<pid_t> order;
  for (auto& t : top) order.push_back(t.pid);
  for (size_t i = 0; i < order.size(); ++i)
    for (auto& fp : live) {
      const ProcInfo& info = seen[fp.pid()];
      if (info.ppid == order[i] && std::find(order.begin(), order.end(), fp.pid()) == order.end()) order.push_back(fp.pid());
    }
  std::vector<FrozenProcess> ordered;
  for (pid_t pid : order)
    for (auto& fp : live)
      if (fp.pid() == pid) ordered.push_back(std::move(fp));
  tree.processes_ = std::move(ordered);
  return tree;
}

int FrozenTree::stop_signal(pid_t pid) const {
  auto it = stopped_.find(pid);
  if (it == stopped_.end()) return 0;
  int sig = it->second;
  // Stopped between the scan and the seize' report (SIGTRAP): say SIGSTOP.
  bool job_control = sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
  return job_control ? sig : SIGSTOP;
}

Result<void> FrozenTree::thaw() {
  Result<void> first;
  // Children first: a parent that runs on finds its children as they were.
  for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) {
    auto r = it->thaw();
    if (!r && first) first = r;
  }
  return first;
}

void FrozenTree::kill_now() {
  for (auto& p : processes_) p.kill_now();
}

}  // namespace crest
