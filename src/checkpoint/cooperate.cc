// Algorithm (docs/libcr.md):
//   1. busy locks on every process of the scope; request-time checks;
//   2. listen on channel_name(our pid, token); CR_SIGNUM with the token to each
//      cooperating process (the requesting thread first); opt.accepted();
//   3-5. accept connections (only from processes of the checkpoint), Hello -> Request,
//      Forward -> more processes (signalled in turn) -> ForwardReply, Ready;
//   6. the decision once every cooperating process is ready or gone.
// After the image (or a failure) checkpointer.cc sends the Results and waits for Done.
#include "checkpoint/cooperate.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>

#include "checkpoint/scope_safety.h"
#include "libcr/protocol.h"
#include "sys/io.h"
#include "sys/procfs.h"

namespace crest {

namespace proto = libcr_proto;

namespace {

std::function<void(const std::string&)>& sink() {
  static std::function<void(const std::string&)> s;
  return s;
}

// BLCR's own error numbers: the message says what happened, strerror() knows nothing.
Error cr_error(int err, std::string what) { return Error(ErrorKind::Unsupported, err, std::move(what)); }

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

bool is_libcr_library(const std::string& path) {
  std::string base = path.substr(path.rfind('/') + 1);
  for (const char* name : {"libcr.so", "libcr_run.so", "libcr_omit.so"})
    if (base.rfind(name, 0) == 0) return true;
  return false;
}

char state_of(pid_t pid) {
  auto f = read_stat_fields(pid);
  return f && f->size() > 3 && !(*f)[3].empty() ? (*f)[3][0] : '?';
}

// cr_scope_t (CR_SCOPE_PROC, _PGRP, _SESS, _TREE) <-> Scope.
int to_cr_scope(Scope s) {
  switch (s) {
    case Scope::Process: return 0;
    case Scope::ProcessGroup: return 1;
    case Scope::Session: return 2;
    case Scope::Tree: return 3;
  }
  return 3;
}

bool from_cr_scope(int v, Scope& out) {
  switch (v) {
    case 0: out = Scope::Process; return true;
    case 1: out = Scope::ProcessGroup; return true;
    case 2: out = Scope::Session; return true;
    case 3: out = Scope::Tree; return true;
  }
  return false;
}

bool send_msg(int fd, const void* msg, size_t len) {
  return ::send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(len);
}

// The signal a request carries (cr_checkpoint_info.signal): negative for an early one.
int request_signal(const CheckpointOptions& opt) {
  if (opt.early_signal) return -opt.early_signal;
  if (opt.after == AfterCheckpoint::Signal) return opt.after_signal;
  if (opt.after == AfterCheckpoint::Kill) return SIGKILL;
  return 0;
}

}  // namespace

WarningSink::WarningSink(std::function<void(const std::string&)> log) : previous_(std::move(sink())) { sink() = std::move(log); }
WarningSink::~WarningSink() { sink() = std::move(previous_); }

void warn(const std::string& line) {
  fprintf(stderr, "cr_checkpoint: warning: %s\n", line.c_str());
  if (sink()) sink()(line);
}

bool cooperates(pid_t pid) {
  auto status = read_status(pid);
  if (!status) return false;
  std::string cgt = status->get("SigCgt");
  if (cgt.empty()) return false;
  uint64_t caught = std::strtoull(cgt.c_str(), nullptr, 16);
  if (!(caught & (1ull << (proto::kSignal - 1)))) return false;
  auto maps = read_maps(pid);
  if (!maps) return false;
  return std::any_of(maps->begin(), maps->end(), [](const MapsEntry& m) { return !m.path.empty() && is_libcr_library(m.path); });
}

const CoopProcess* Cooperation::find(pid_t pid) const {
  auto it = procs_.find(pid);
  if (it == procs_.end() || it->second.gone || !it->second.ready) return nullptr;
  return &it->second;
}

bool Cooperation::was_stopped(pid_t pid) const {
  auto it = procs_.find(pid);
  return it != procs_.end() && it->second.was_stopped;
}

bool Cooperation::done(pid_t pid) const {
  auto it = procs_.find(pid);
  return it == procs_.end() || it->second.done || it->second.gone;
}

void Cooperation::restop_stopped() {
  for (auto& [pid, p] : procs_)
    if (p.was_stopped && !(p.gone && ::kill(pid, 0) != 0)) ::kill(pid, SIGSTOP);
}

void Cooperation::restop_omitted() {
  for (auto& [pid, p] : procs_)
    if (p.was_stopped && excluded_.count(pid)) ::kill(pid, SIGSTOP);
}

std::vector<pid_t> Cooperation::checkpointed() const {
  std::vector<pid_t> out;
  for (auto& [pid, p] : procs_)
    if (p.ready && !p.gone && !excluded_.count(pid)) out.push_back(pid);
  return out;
}

void Cooperation::send_after_signal(int sig) {
  for (pid_t pid : checkpointed())
    if (procs_.at(pid).raised != sig) ::kill(pid, sig);
}

// Members new to the checkpoint: busy lock, prohibit_self, ptrace policy, libcr.
Result<void> Cooperation::add_members(const std::vector<pid_t>& pids, const CheckpointOptions& opt) {
  std::vector<pid_t> fresh;
  for (pid_t pid : pids)
    if (!members_.count(pid) && !excluded_.count(pid) && pid != getpid()) fresh.push_back(pid);
  for (pid_t pid : fresh) CR_TRY(locks_.take(pid));
  if (opt.prohibit_self && opt.requester > 0 && opt.requester != getpid())
    for (pid_t pid : fresh)
      if (pid == opt.requester)
        return Error(ErrorKind::Os, EDEADLK, format("the requesting process %d would be part of the checkpoint "
                                                    "(CR_CHKPT_PROHIBIT_SELF)", pid));
  std::vector<pid_t> coop;
  // The ptrace policy is a request-time check (and a skipped process must not run its
  // callbacks); the freeze checks it again for processes that appear later.
  std::map<pid_t, pid_t> tracers = all_tracers();
  for (pid_t pid : fresh) {
    char st = state_of(pid);
    if (st == 'Z' || st == 'X' || st == '?') continue;  // zombies are saved as they are
    if (::kill(pid, 0) != 0 && errno == EPERM)
      return Error::os(format("process %d cannot be checkpointed by this user", pid), EPERM);
    if (!CR_TRY(trace_check(pid, opt.trace_policy, tracers))) {
      skipped_.insert(pid);
      continue;
    }
    if (cooperates(pid)) {
      coop.push_back(pid);
    } else if (opt.require_libcr) {
      return cr_error(proto::kENoSupport, format("process %d has no libcr (checkpoint support missing from the application; "
                                                 "--require-libcr)", pid));
    }
  }
  for (pid_t pid : fresh) members_.insert(pid);
  for (pid_t pid : coop) {
    CoopProcess p;
    p.pid = pid;
    p.pidfd = Fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    if (!p.pidfd.valid()) {
      if (errno == ESRCH) continue;
      return Error::os(format("pidfd_open(%d)", pid));
    }
    procs_.emplace(pid, std::move(p));
    to_signal_.push_back(pid);
  }
  return {};
}

Result<void> Cooperation::signal_new(const CheckpointOptions& opt) {
  // The requesting thread first: it is blocked reading its request handle and must be in
  // its handler before it can see the request accepted.
  std::stable_partition(to_signal_.begin(), to_signal_.end(), [&](pid_t p) { return p == opt.requester; });
  for (pid_t pid : to_signal_) {
    CoopProcess& p = procs_.at(pid);
    siginfo_t info{};
    info.si_signo = proto::kSignal;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value.sival_ptr = reinterpret_cast<void*>(token_);
    p.was_stopped = state_of(pid) == 'T';
    long r;
    bool to_thread = pid == opt.requester && opt.requester_tid > 0 && opt.requester_tid != pid &&
                     access(format("/proc/%d/task/%d", pid, opt.requester_tid).c_str(), F_OK) == 0;
    if (to_thread)
      r = syscall(SYS_rt_tgsigqueueinfo, pid, opt.requester_tid, proto::kSignal, &info);
    else
      r = syscall(SYS_rt_sigqueueinfo, pid, proto::kSignal, &info);
    if (r != 0) {
      if (errno == ESRCH) {
        drop(p, "exited");
        continue;
      }
      return Error::os(format("sending the checkpoint signal to process %d", pid));
    }
    // A stopped process runs no handler: continued for its callbacks, stopped again after.
    if (p.was_stopped) ::kill(pid, SIGCONT);
  }
  to_signal_.clear();
  return {};
}

void Cooperation::drop(CoopProcess& p, const char* why) {
  if (p.gone) return;
  p.gone = true;
  p.conn.reset();
  // Exited, or exec()ed / closed its channel during its callbacks: dropped from the
  // checkpoint (BLCR: "process dropped from the request"). A process that is exiting
  // closes its channel just before its pidfd becomes readable: give it a moment.
  pollfd exited{p.pidfd.get(), POLLIN, 0};
  if (poll(&exited, 1, 200) == 1) return;
  if (::kill(p.pid, 0) == 0 && state_of(p.pid) != 'Z') {
    excluded_.insert(p.pid);
    warn(format("process %d %s during its checkpoint callbacks; it is left out of the checkpoint", p.pid, why));
  }
}

void Cooperation::send_result(CoopProcess& p, int value) {
  if (p.gone || !p.conn.valid() || p.result_sent) return;
  proto::Result r{};
  r.magic = proto::kMagic;
  r.type = proto::kResult;
  r.value = value;
  if (!send_msg(p.conn.get(), &r, sizeof r)) {
    warn(format("could not send the checkpoint's result to process %d: %s", p.pid, strerror(errno)));
    return;
  }
  p.result_sent = true;
}

void Cooperation::send_results(int value) {
  for (auto& [pid, p] : procs_) {
    if (!p.hello) continue;
    send_result(p, excluded_.count(pid) ? -proto::kEOmitted : value);
  }
}

void Cooperation::wait_done(int timeout_ms, const std::function<bool()>& cancelled) {
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<pid_t> who;
    for (auto& [pid, p] : procs_) {
      if (!p.result_sent || p.done || p.gone) continue;
      fds.push_back({p.conn.get(), POLLIN, 0});
      who.push_back(pid);
      fds.push_back({p.pidfd.get(), POLLIN, 0});
      who.push_back(pid);
    }
    if (fds.empty()) return;
    int64_t left = deadline - now_ms();
    if (left <= 0 || (cancelled && cancelled())) {
      for (pid_t pid : who)
        if (!procs_[pid].done) {
          procs_[pid].done = true;  // reported once
          warn(format("process %d did not finish its after-checkpoint callbacks within %d s (no Done); going on", pid,
                      timeout_ms / 1000));
        }
      return;
    }
    int n = poll(fds.data(), fds.size(), static_cast<int>(std::min<int64_t>(left, 100)));
    if (n < 0 && errno != EINTR) return;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      CoopProcess& p = procs_[who[i]];
      if (p.done || p.gone) continue;
      if (i % 2 == 1) {  // pidfd: it exited
        p.done = true;
        continue;
      }
      uint8_t buf[8192];
      ssize_t got = recv(p.conn.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        p.done = true;  // closed its channel (exited, or gave up)
        continue;
      }
      proto::Done d{};
      if (static_cast<size_t>(got) >= sizeof d) memcpy(&d, buf, sizeof d);
      if (d.magic == proto::kMagic && d.type == proto::kDone) {
        p.done = true;
        p.raised = d.raised;
      }
    }
  }
}

Result<void> Cooperation::on_message(CoopProcess& p, const uint8_t* msg, size_t len, const CheckpointOptions& opt) {
  uint32_t head[2] = {};
  if (len < sizeof head) return Error::corrupt("short message");
  memcpy(head, msg, sizeof head);
  if (head[0] != proto::kMagic) return Error::corrupt("bad magic");
  switch (head[1]) {
    case proto::kHello: {
      proto::Hello h{};
      if (len < sizeof h || p.hello) return Error::corrupt("bad Hello");
      memcpy(&h, msg, sizeof h);
      if (h.pid != p.pid) return Error::corrupt(format("Hello names pid %d", h.pid));
      p.hello = true;
      p.channel_fd = h.channel_fd;
      p.lib = h.lib;
      auto req = std::make_unique<proto::Request>();
      memset(req.get(), 0, sizeof *req);
      req->magic = proto::kMagic;
      req->type = proto::kRequest;
      bool by_hand = opt.requester <= 0;
      req->requester = by_hand ? getpid() : opt.requester;
      req->target = by_hand ? opt.pid : opt.request_target;
      req->scope = to_cr_scope(opt.scope);
      req->signal = request_signal(opt);
      strncpy(req->dest, opt.dest.c_str(), sizeof req->dest - 1);
      if (!send_msg(p.conn.get(), req.get(), sizeof *req)) return Error::os("sending Request");
      return {};
    }
    case proto::kForward: {
      proto::Forward f{};
      if (len < sizeof f || !p.hello || p.ready) return Error::corrupt("bad Forward");
      memcpy(&f, msg, sizeof f);
      proto::ForwardReply reply{proto::kMagic, proto::kForwardReply, 0};
      Scope scope;
      pid_t target = f.target;
      if (!from_cr_scope(f.scope, scope) || target < 0) {
        reply.err = EINVAL;
      } else {
        if (target == 0)
          target = scope == Scope::ProcessGroup ? getpgid(p.pid) : scope == Scope::Session ? getsid(p.pid) : p.pid;
        std::vector<pid_t> pids = scope_members(scope, target);
        if (pids.empty()) {
          reply.err = ESRCH;
        } else {
          // A forwarded scope passes the checks of the request's own (scope_safety.h).
          auto added = check_scope_safety(pids, opt);
          if (added) added = add_members(pids, opt);
          if (added) added = signal_new(opt);
          if (!added) {
            int e = added.error().error_number();
            reply.err = e == EBUSY || e == EDEADLK || e == ESRCH || e == EINVAL ? e : EPERM;
            warn(format("process %d: cr_forward_checkpoint(%d, %d) refused: %s", p.pid, f.scope, f.target,
                        added.error().message().c_str()));
          } else {
            scopes_.push_back({scope, target});
          }
        }
      }
      if (!send_msg(p.conn.get(), &reply, sizeof reply)) return Error::os("sending ForwardReply");
      return {};
    }
    case proto::kReady: {
      proto::Ready r{};
      if (len < offsetof(proto::Ready, handles) || !p.hello || p.ready) return Error::corrupt("bad Ready");
      memcpy(&r, msg, std::min(len, sizeof r));
      p.ready = true;
      p.decision = r.decision;
      uint32_t count = std::min<uint32_t>(r.handle_count, proto::kMaxHandles);
      count = std::min<uint32_t>(count, (len - offsetof(proto::Ready, handles)) / sizeof(int32_t));
      p.handles.assign(r.handles, r.handles + count);
      return {};
    }
    default:
      return Error::corrupt(format("unexpected message type %u", head[1]));
  }
}

Result<void> Cooperation::serve(const CheckpointOptions& opt) {
  for (;;) {
    bool waiting = false, perm = false;
    for (auto& [pid, p] : procs_) {
      if (!p.gone && !p.ready) waiting = true;
      if (p.ready && !p.gone && (p.decision & proto::kCheckpointPermFailure)) perm = true;
    }
    if (!waiting || perm) return {};
    if (opt.cancelled && opt.cancelled()) {
      // Giving up (the -t limit): whoever is waiting gets the failure and runs on.
      for (auto& [pid, p] : procs_)
        if (p.hello) send_result(p, -ETIMEDOUT);
      restop_stopped();
      std::string who;
      for (auto& [pid, p] : procs_)
        if (!p.gone && !p.ready) who += format(" %d", pid);
      return Error::timed_out(format("waiting for the checkpoint callbacks of process(es)%s", who.c_str()));
    }
    std::vector<pollfd> fds{{listener_.get(), POLLIN, 0}};
    std::vector<std::pair<pid_t, bool>> who{{0, false}};  // (pid, is pidfd)
    for (auto& [pid, p] : procs_) {
      if (p.gone) continue;
      fds.push_back({p.pidfd.get(), POLLIN, 0});
      who.push_back({pid, true});
      if (p.conn.valid()) {
        fds.push_back({p.conn.get(), POLLIN, 0});
        who.push_back({pid, false});
      }
    }
    int n = poll(fds.data(), fds.size(), 100);
    if (n < 0 && errno != EINTR) return Error::os("poll");
    if (n <= 0) continue;
    if (fds[0].revents & POLLIN) {
      for (;;) {
        Fd c(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!c.valid()) break;
        ucred cred{};
        socklen_t len = sizeof cred;
        if (getsockopt(c.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) continue;
        auto it = procs_.find(cred.pid);
        if (it == procs_.end() || it->second.gone || it->second.conn.valid()) continue;  // not ours to serve
        it->second.conn = std::move(c);
      }
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      CoopProcess& p = procs_[who[i].first];
      if (p.gone) continue;
      if (who[i].second) {
        drop(p, "exited");
        continue;
      }
      uint8_t buf[8192];
      ssize_t got = recv(p.conn.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        drop(p, "closed its checkpoint channel");
        continue;
      }
      auto r = on_message(p, buf, static_cast<size_t>(got), opt);
      if (!r) {
        warn(format("process %d: protocol error on its checkpoint channel: %s", p.pid, r.error().message().c_str()));
        drop(p, "broke the checkpoint protocol");
      }
    }
  }
}

Result<void> Cooperation::decide(const CheckpointOptions& opt) {
  const CoopProcess* perm = nullptr;
  const CoopProcess* temp = nullptr;
  for (auto& [pid, p] : procs_) {
    if (!p.ready || p.gone) continue;
    uint32_t kind = p.decision & 0xffff;
    if ((kind & proto::kCheckpointPermFailure) && !perm) perm = &p;
    else if ((kind & proto::kCheckpointTempFailure) && !temp) temp = &p;
  }
  if (perm) {
    int code = static_cast<int>(perm->decision >> 16);
    pid_t who = perm->pid;
    // Every process of the checkpoint is killed (BLCR: "checkpoint cancelled and job killed").
    for (pid_t pid : members_)
      if (!skipped_.count(pid)) ::kill(pid, SIGKILL);
    for (const ScopeSpec& s : scopes_)
      for (pid_t pid : scope_members(s.scope, s.id))
        if (!skipped_.count(pid) && !excluded_.count(pid)) ::kill(pid, SIGKILL);
    return cr_error(code ? code : proto::kEPermFail,
                    format("process %d cancelled the checkpoint with a permanent failure%s; the job was killed", who,
                           code ? format(" (code %d)", code).c_str() : ""));
  }
  if (temp) {
    int code = static_cast<int>(temp->decision >> 16);
    int err = code ? code : proto::kETempFail;
    for (auto& [pid, p] : procs_)
      if (p.hello) send_result(p, -err);
    wait_done(10000, opt.cancelled);
    restop_stopped();
    return cr_error(err, format("process %d cancelled the checkpoint with a temporary failure%s (try again later); "
                                "nothing was checkpointed",
                                temp->pid, code ? format(" (code %d)", code).c_str() : ""));
  }
  for (auto& [pid, p] : procs_)
    if (p.ready && !p.gone && (p.decision & proto::kCheckpointOmit)) excluded_.insert(pid);
  bool left = false;
  for (pid_t pid : members_)
    if (!skipped_.count(pid) && !excluded_.count(pid) && ::kill(pid, 0) == 0) {
      char st = state_of(pid);
      if (st != 'Z' && st != 'X') left = true;
    }
  if (!left) {
    send_results(-ESRCH);  // omitted ones get -CR_EOMITTED
    wait_done(10000, opt.cancelled);
    restop_stopped();
    return Error(ErrorKind::Os, ESRCH, "no processes checkpointed (every process omitted itself or exited)");
  }
  return {};
}

Result<Cooperation> Cooperation::start(const CheckpointOptions& opt) {
  Cooperation c;
  c.scopes_.push_back({opt.scope, opt.pid});
  std::vector<pid_t> pids = scope_members(opt.scope, opt.pid);
  if (pids.empty()) return Error(ErrorKind::Os, ESRCH, format("no such %s %d", scope_name(opt.scope), opt.pid));
  CR_TRY(c.add_members(pids, opt));
  if (!c.procs_.empty()) {
    uint64_t random = 0;
    if (getrandom(&random, sizeof random, 0) != sizeof random) random = static_cast<uint64_t>(now_ms()) * 2654435761u ^ getpid();
    c.token_ = (random & ~proto::kTokenTagMask) | proto::kTokenTag;
    if (c.token_ == proto::kInternalToken) c.token_ += 2;
    c.listener_ = Fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!c.listener_.valid()) return Error::os("socket for the libcr channel");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    char name[64];
    int n = proto::channel_name(name, getpid(), c.token_);
    memcpy(addr.sun_path, name, n);
    if (bind(c.listener_.get(), reinterpret_cast<sockaddr*>(&addr), offsetof(sockaddr_un, sun_path) + n) != 0)
      return Error::os("binding the libcr channel");
    if (listen(c.listener_.get(), 128) != 0) return Error::os("listen on the libcr channel");
    CR_TRY(c.signal_new(opt));
  }
  if (opt.accepted) opt.accepted();
  CR_TRY(c.serve(opt));
  CR_TRY(c.decide(opt));
  return c;
}

}  // namespace crest
