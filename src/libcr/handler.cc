// The CR_SIGNUM handler and the checkpoint as the process runs it (docs/libcr.md steps
// 2-8 and "Restart"; BLCR-API.md 2.2).
//
// Algorithm (one checkpoint, inside one process):
//   1. The dumper's signal reaches one thread H (the "handling thread"). H connects to the
//      dumper, sends Hello, receives Request, and marks the process busy (cr_status()
//      PENDING, new outermost critical sections wait).
//   2. With CR_THREAD_CONTEXT callbacks, libcr's callback thread coordinates and H's
//      handler returns at once: H may have been interrupted holding a lock (malloc's)
//      that a thread-context callback needs, so nothing may wait in signal context during
//      phase 1. The callback thread waits until no thread is in a critical section, runs
//      the thread-context callbacks newest first, and at its innermost cr_checkpoint()
//      starts phase 2 (unless phase 1 decided against the checkpoint).
//      Without them H coordinates from its handler; if H is inside a critical section it
//      defers that to its outermost cr_leave_cs().
//   3. Phase 2: CR_SIGNUM with kInternalToken to every cr_init() thread but the
//      coordinator. Each (in its handler, or at its outermost cr_leave_cs()) waits for
//      critical sections to drain, runs its CR_SIGNAL_CONTEXT callbacks newest first and
//      arrives at the barrier from its innermost cr_checkpoint(). H, when it coordinates,
//      runs its own signal-context callbacks the same way.
//   4. The coordinator, at its innermost cr_checkpoint() (or directly without callbacks),
//      waits until every participant arrived, sends Ready with the combined decision and
//      the in-flight request handles, and blocks in recv() for Result. A restarted process
//      resumes here, with the Result the restorer wrote. (If the dumper answers before
//      Ready, at its time limit, the coordinator stops waiting and takes that Result.)
//   5. The coordinator publishes the value; every level of cr_checkpoint() in every thread
//      returns it; each thread runs its "after" code, its hook, and waits at the hold
//      barrier. The coordinator waits until all are done, releases the barrier, clears
//      busy, sends Done and closes the channel.
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"

namespace crest::libcr {


// ---- primitives ----

// The request's positive signal (cr_checkpoint --term, --kill, --signal) on the continue
// path, or the restart's (cr_restart --term, --kill, --signal, in the Result) on the
// restart path, when libcr raises it itself: process-directed, while the raising thread
// is still in libcr's handler (or libcr's callback thread) and every cr_init() thread is
// held in its own, all with every signal blocked. It is delivered as they return, before
// the interrupted program runs one more instruction (BLCR-API.md 2.2, steps 6 and 7:
// after the callbacks). SIGSTOP cannot be blocked and would stop the process before
// Done: the dumper (restorer) sends it.
int after_signal_for(int value) {
  int sig = value == 0 ? g.request.signal : value > 0 ? g.result.signal : 0;
  return sig > 0 && sig < 65 && sig != SIGSTOP ? sig : 0;
}

void raise_after_signal(int sig) {
  if (sig) syscall(SYS_kill, sys_getpid(), sig);
}

pid_t sys_getpid() { return static_cast<pid_t>(syscall(SYS_getpid)); }
pid_t sys_gettid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

void futex_wait(int* word, int expected, int timeout_ms) {
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long>(timeout_ms % 1000) * 1000000L;
    tsp = &ts;
  }
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, tsp, nullptr, 0);
}

void futex_wake_all(int* word) { syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0); }

// The coordinator's end of a checkpoint: wait for everyone's after-code, release the
// hold barrier, send Done.
void finish(ThreadState* self, int round);

SignalBlock::SignalBlock(bool all) {
  uint64_t set = all ? ~0ull : (1ull << (proto::kSignal - 1));
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, &old_, sizeof set);
}

SignalBlock::~SignalBlock() { syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old_, nullptr, sizeof old_); }

void SpinLock::lock() {
  int expected = 0;
  while (!__atomic_compare_exchange_n(&word, &expected, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
    expected = 0;
    syscall(SYS_sched_yield);
  }
}

void SpinLock::unlock() { __atomic_store_n(&word, 0, __ATOMIC_RELEASE); }

namespace {

int load(const int* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void store(int* p, int v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

void bump_event() {
  __atomic_add_fetch(&g.event, 1, __ATOMIC_SEQ_CST);
  futex_wake_all(&g.event);
}

// Waits until pred() holds, re-checking at every event (and every 100 ms, so a thread
// that left the list without an event cannot hang the barrier).
template <typename Pred>
void wait_event(Pred pred) {
  for (;;) {
    int seen = __atomic_load_n(&g.event, __ATOMIC_SEQ_CST);
    if (pred()) return;
    futex_wait(&g.event, seen, 100);
  }
}

// True when the dumper has already answered (a Result, typically -ETIMEDOUT after its
// time limit) or gone away, before this process sent Ready. A ForwardReply waiting for
// another thread's cr_forward_checkpoint() does not count (it is only peeked at).
bool answered_early() {
  struct pollfd p = {g.channel, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  uint32_t head[2] = {0, 0};
  ssize_t n = recv(g.channel, head, sizeof head, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;                   // the dumper is gone
  if (n < 0) return errno != EAGAIN && errno != EINTR;
  return head[1] != proto::kForwardReply;
}

// As wait_event, for the handling thread: false if the dumper answered early.
template <typename Pred>
bool wait_or_answer(Pred pred) {
  for (;;) {
    int seen = __atomic_load_n(&g.event, __ATOMIC_SEQ_CST);
    if (pred()) return true;
    if (answered_early()) return false;
    futex_wait(&g.event, seen, 100);
  }
}

int rank(uint32_t flags) {
  if (flags & CR_CHECKPOINT_PERM_FAILURE) return 3;
  if (flags & CR_CHECKPOINT_TEMP_FAILURE) return 2;
  if (flags & CR_CHECKPOINT_OMIT) return 1;
  return 0;
}

// True when every thread signalled in `round` satisfies `field == round`.
bool all_participants(int round, int ThreadState::*field) {
  bool all = true;
  g.threads_lock.lock();
  for (ThreadState* s = g.threads; s; s = s->next) {
    if (load(&s->signaled_round) == round && load(&(s->*field)) != round) {
      all = false;
      break;
    }
  }
  g.threads_lock.unlock();
  return all;
}

void send_phase2_signals(ThreadState* self, int round) {
  pid_t pid = sys_getpid();
  uid_t uid = getuid();
  g.threads_lock.lock();
  for (ThreadState* s = g.threads; s; s = s->next) {
    if (s == self) continue;
    store(&s->signaled_round, round);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = proto::kSignal;
    si.si_code = SI_QUEUE;
    si.si_pid = pid;
    si.si_uid = uid;
    si.si_value.sival_ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(proto::kInternalToken));
    if (syscall(SYS_rt_tgsigqueueinfo, pid, s->tid, proto::kSignal, &si) != 0) {
      store(&s->signaled_round, 0);  // gone (or its queue is full): not waited for
    }
  }
  g.threads_lock.unlock();
}

// Threads signalled in `round` that have not arrived are no longer waited for (the
// dumper answered without their Ready); they get the same value when they arrive.
void abandon_late_participants(int round) {
  g.threads_lock.lock();
  for (ThreadState* s = g.threads; s; s = s->next) {
    if (load(&s->signaled_round) == round && load(&s->arrived_round) != round) store(&s->signaled_round, 0);
  }
  g.threads_lock.unlock();
}

// Threads that never called cr_init() take no part in the phases (the dumper freezes
// them with ptrace), but after the Result they run the NO_CALLBACKS hook and wait at the
// hold barrier (CR_HOLD_SCOPE_UNINIT), as with BLCR's kernel. They are found in
// /proc/self/task and signalled with a token naming the round, so a copy that arrives
// late (the signal was blocked) is recognised as stale.
constexpr uint64_t kHoldKind = 2;

uint64_t hold_token(int round) {
  return proto::kTokenTag | (kHoldKind << 32) | static_cast<uint32_t>(round);
}

bool is_listed_tid(int tid) {
  bool found = false;
  g.threads_lock.lock();
  for (ThreadState* s = g.threads; s && !found; s = s->next) found = s->tid == tid;
  g.threads_lock.unlock();
  ThreadState* cbt = __atomic_load_n(&g.callback_thread, __ATOMIC_ACQUIRE);
  return found || (cbt && cbt->tid == tid);
}

void signal_uninitialised_threads(int round, int value) {
  int needed = value > 0 ? CR_HOLD_RSTRT : CR_HOLD_CONT;
  int event = (value > 0 ? static_cast<int>(CR_HOOK_RSTRT_NO_CALLBACKS) : static_cast<int>(CR_HOOK_CONT_NO_CALLBACKS));
  if (!(load(&g.hold_uninit) & needed) && !__atomic_load_n(&g.hooks[event], __ATOMIC_ACQUIRE)) return;
  int dir = static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir < 0) return;
  pid_t pid = sys_getpid(), me = sys_gettid();
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = proto::kSignal;
  si.si_code = SI_QUEUE;
  si.si_pid = pid;
  si.si_uid = getuid();
  si.si_value.sival_ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(hold_token(round)));
  alignas(8) char buf[2048];
  for (;;) {
    long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      off += d->d_reclen;
      int tid = 0;
      const char* c = d->d_name;
      if (*c < '0' || *c > '9') continue;
      for (; *c >= '0' && *c <= '9'; ++c) tid = tid * 10 + (*c - '0');
      if (tid == me || is_listed_tid(tid)) continue;
      syscall(SYS_rt_tgsigqueueinfo, pid, tid, proto::kSignal, &si);
    }
  }
  close(dir);
}

// A thread without cr_init() after a checkpoint or restart: hook, then the hold barrier.
void on_hold_signal(int round) {
  if (current()) return;  // cr_init() threads have their own part
  if (round != load(&g.round) || load(&g.result_round) != round) return;  // stale
  int value = g.result_value;
  run_hook(value, kHookNone);
  hold_barrier(nullptr, round, value);
}

// The handling thread at the barrier: everyone arrived -> Ready -> Result. When the
// dumper has answered already (a time limit, an abort), only its Result is read.
int conclude(int round) {
  const bool send_ready =
      wait_or_answer([&] { return all_participants(round, &ThreadState::arrived_round); }) && !answered_early();
  int value = -EIO;
  if (send_ready) {
    proto::Ready ready;
    memset(&ready, 0, sizeof ready);
    ready.magic = proto::kMagic;
    ready.type = proto::kReady;
    ready.decision = __atomic_load_n(&g.decision, __ATOMIC_ACQUIRE);
    int n = handles_in_flight(ready.handles, proto::kMaxHandles);
    ready.handle_count = n > 0 ? static_cast<uint32_t>(n) : 0;
    // A failure (the dumper gone) still leaves its last packets to read below.
    channel_send(g.channel, &ready, sizeof ready);
  }
  // Blocks until the dumper has written the image (or decided otherwise). A restarted
  // process resumes inside this recv() with the restorer's Result.
  int got = channel_recv(g.channel, &g.result, sizeof g.result);
  if (got >= static_cast<int>(offsetof(proto::Result, src)) && g.result.magic == proto::kMagic &&
      g.result.type == proto::kResult) {
    value = g.result.value;
    g.result.src[proto::kPathMax - 1] = '\0';
  }
  abandon_late_participants(round);
  g.result_value = value;
  // Read by hold_barrier(): every participant waits there until the signal is raised.
  __atomic_store_n(&g.after_signal, after_signal_for(value), __ATOMIC_RELEASE);
  if (value > 0) {
    g.restart_info.requester = value;
    g.restart_info.src = g.result.src;
  }
  __atomic_store_n(&g.result_round, round, __ATOMIC_SEQ_CST);
  futex_wake_all(&g.result_round);
  signal_uninitialised_threads(round, value);
  return value;
}

// A thread that was signalled by libcr itself: its part of phase 2, unless deferred.
void on_phase2_signal() {
  ThreadState* self = current();
  if (!self || self->callback_thread) return;
  int round = load(&g.round);
  if (!load(&g.busy) || load(&self->signaled_round) != round || load(&self->arrived_round) == round)
    return;  // not part of a checkpoint in progress (a forged or stale copy)
  if (self->cs_depth > 0) {
    self->deferred = true;
    return;
  }
  participate(self);
}

void simple_answer(uint32_t decision) {
  proto::Ready ready;
  memset(&ready, 0, sizeof ready);
  ready.magic = proto::kMagic;
  ready.type = proto::kReady;
  ready.decision = decision;
  int n = handles_in_flight(ready.handles, proto::kMaxHandles);
  ready.handle_count = n > 0 ? static_cast<uint32_t>(n) : 0;
  int fd = g.channel;
  if (channel_send(fd, &ready, sizeof ready)) {
    // The restarted copy of a libcr_run process resumes here too.
    int got = channel_recv(fd, &g.result, sizeof g.result);
    bool ok = got >= static_cast<int>(offsetof(proto::Result, src)) && g.result.magic == proto::kMagic &&
              g.result.type == proto::kResult;
    int sig = ok ? after_signal_for(g.result.value) : 0;
    raise_after_signal(sig);  // pending until this handler returns
    proto::Done done{proto::kMagic, proto::kDone, sig, 0};
    channel_send(fd, &done, sizeof done);
  }
  g.channel = -1;
  close(fd);
  store(&g.busy, 0);
}

// A checkpoint request from the dumper (or anyone who passes channel_connect's checks).
void on_request(pid_t dumper, uint64_t token) {
  if (__atomic_exchange_n(&g.busy, 1, __ATOMIC_SEQ_CST)) return;  // one at a time
  int fd = channel_connect(dumper, token);
  if (fd < 0) {
    store(&g.busy, 0);
    futex_wake_all(&g.busy);
    return;
  }
  g.channel = fd;
  if (kLibKind != proto::kLibcr) {
    channel_recv(fd, &g.request, sizeof g.request);  // Hello was sent by channel_connect
    simple_answer(kLibKind == proto::kLibcrOmit ? CR_CHECKPOINT_OMIT : CR_CHECKPOINT_READY);
    return;
  }
  int got = channel_recv(fd, &g.request, sizeof g.request);
  if (got != sizeof g.request || g.request.magic != proto::kMagic || g.request.type != proto::kRequest) {
    g.channel = -1;
    close(fd);
    store(&g.busy, 0);
    futex_wake_all(&g.busy);
    return;
  }
  g.request.dest[proto::kPathMax - 1] = '\0';
  g.checkpoint_info.signal = g.request.signal;
  g.checkpoint_info.dest = g.request.dest;
  g.checkpoint_info.requester = g.request.requester;
  g.checkpoint_info.target = g.request.target;
  g.checkpoint_info.scope = static_cast<cr_scope_t>(g.request.scope);
  __atomic_store_n(&g.decision, 0u, __ATOMIC_RELEASE);
  g.abort_after = 0;
  int round = __atomic_add_fetch(&g.round, 1, __ATOMIC_SEQ_CST);
  ThreadState* cbt = __atomic_load_n(&g.callback_thread, __ATOMIC_ACQUIRE);
  if (cbt && g.thread_callbacks.count() > 0) {
    // Phase 1 runs while every other thread runs on: this thread may have been
    // interrupted holding a lock (malloc's, say) that a thread-context callback needs.
    // So the callback thread coordinates the checkpoint and this handler returns.
    g.coordinator = cbt;
    __atomic_store_n(&g.phase1_round, round, __ATOMIC_SEQ_CST);
    futex_wake_all(&g.phase1_round);
    return;
  }
  ThreadState* self = current();
  g.coordinator = self;
  if (self && self->cs_depth > 0) {
    self->deferred_coordinate = true;  // cr_status() says PENDING until the leave
    return;
  }
  coordinate(self);
}

void handler(int sig, siginfo_t* info, void* context) {
  int saved_errno = errno;
  uint64_t token = info && info->si_code == SI_QUEUE ? reinterpret_cast<uintptr_t>(info->si_value.sival_ptr) : 0;
  if ((token & proto::kTokenTagMask) == proto::kTokenTag) {
    if (info->si_pid == sys_getpid()) {
      // libcr's own signals (the dumper is always another process).
      if (token == proto::kInternalToken) on_phase2_signal();
      else if (((token >> 32) & 0xFFFF) == kHoldKind) on_hold_signal(static_cast<int>(token & 0xFFFFFFFFu));
    } else {
      on_request(info->si_pid, token);
    }
  } else {
    pass_to_application(sig, info, context);  // not a checkpoint's: the application's own
  }
  errno = saved_errno;
}

// ---- libcr's callback thread ----

void* callback_thread_main(void*) {
  ThreadState* self = adopt_callback_thread();
  if (!self) return nullptr;
  __atomic_store_n(&g.callback_thread, self, __ATOMIC_RELEASE);
  int seen = load(&g.phase1_round);
  for (;;) {
    while (load(&g.phase1_round) == seen) futex_wait(&g.phase1_round, seen, -1);
    int round = seen = load(&g.phase1_round);
    self->in_part = 1;  // its hooks may call cr_enter_cs() too
    wait_cs_drain();
    // Phase 1; the innermost cr_checkpoint() starts phase 2 and concludes (arrive()).
    int value = run_callbacks(self, &g.thread_callbacks);
    run_hook(value, kHookThread);
    self->in_part = 0;
    finish(self, round);
  }
  return nullptr;
}

// ---- which copy of libcr owns CR_SIGNUM ----

// A program may hold two crest libraries (linked with libcr and started under cr_run,
// say). The handler installed last wins the signal, so each constructor looks at the
// handler already installed and keeps it if it belongs to a copy of higher rank:
// libcr_omit (the user asked to be left out) > libcr (callbacks) > libcr_run.
int rank_of_kind(uint32_t kind) {
  switch (kind) {
    case proto::kLibcrOmit: return 3;
    case proto::kLibcr: return 2;
    case proto::kLibcrRun: return 1;
  }
  return 0;
}

int rank_of_handler(void* fn) {
  Dl_info info;
  if (!fn || !dladdr(fn, &info) || !info.dli_fname) return 0;
  const char* base = strrchr(info.dli_fname, '/');
  base = base ? base + 1 : info.dli_fname;
  if (strncmp(base, "libcr_omit.so", 13) == 0) return 3;
  if (strncmp(base, "libcr.so", 8) == 0) return 2;
  if (strncmp(base, "libcr_run.so", 12) == 0) return 1;
  return 0;
}

void nscd_callback(size_t, void*) {}

void atfork_child() { reset_after_fork(); }

__attribute__((constructor)) void libcr_constructor() {
  init_state_key();
  pthread_atfork(nullptr, nullptr, atfork_child);

  const char* nscd = getenv("LIBCR_DISABLE_NSCD");
  if (nscd && *nscd) {
    using DisableNscd = void (*)(void (*)(size_t, void*));
    auto fn = reinterpret_cast<DisableNscd>(dlsym(RTLD_DEFAULT, "__nss_disable_nscd"));
    if (fn) fn(nscd_callback);
  }

  // From now on the application's sigaction()/signal() on CR_SIGNUM change only its
  // shadow action (app_action.cc); the kernel's stays a crest handler.
  AppAction* app = app_action();
  struct sigaction current_action;
  if (kernel_sigaction(proto::kSignal, nullptr, &current_action) == 0 &&
      (current_action.sa_flags & SA_SIGINFO) && current_action.sa_sigaction != handler) {
    if (rank_of_handler(reinterpret_cast<void*>(current_action.sa_sigaction)) >= rank_of_kind(kLibKind)) {
      __atomic_store_n(&app->crest_owns, 1, __ATOMIC_RELEASE);
      return;
    }
  }
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = handler;
  action.sa_flags = SA_RESTART | SA_SIGINFO;
  sigfillset(&action.sa_mask);
  if (kernel_sigaction(proto::kSignal, &action, nullptr) == 0) __atomic_store_n(&app->crest_owns, 1, __ATOMIC_RELEASE);
}

}  // namespace

// ---- pieces used by callbacks.cc and critical_section.cc ----

void combine_decision(uint32_t flags) {
  uint32_t cur = __atomic_load_n(&g.decision, __ATOMIC_ACQUIRE);
  while (rank(flags) > rank(cur) &&
         !__atomic_compare_exchange_n(&g.decision, &cur, flags, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
  }
}

void wait_cs_drain() {
  for (;;) {
    int n = __atomic_load_n(&g.cs_count, __ATOMIC_SEQ_CST);
    if (n == 0) return;
    futex_wait(&g.cs_count, n, 100);
  }
}

int arrive(ThreadState* self, uint32_t flags) {
  combine_decision(flags);
  int round = load(&g.round);
  int value;
  if (self == g.coordinator) {
    if (self->callback_thread) {
      // Every thread-context callback reached cr_checkpoint(): phase 2, unless phase 1
      // already decided against the checkpoint.
      // Nor when the dumper has given up meanwhile (its time limit).
      if (__atomic_load_n(&g.decision, __ATOMIC_ACQUIRE) == 0 && !answered_early())
        send_phase2_signals(self, round);
    }
    value = conclude(round);
  } else {
    store(&self->arrived_round, round);
    bump_event();
    for (;;) {
      int seen = __atomic_load_n(&g.result_round, __ATOMIC_SEQ_CST);
      if (seen == round) break;
      futex_wait(&g.result_round, seen, -1);
    }
    value = g.result_value;
  }
  self->value = value;
  return value;
}

void run_hook(int value, HookKind kind) {
  int event = (value > 0 ? static_cast<int>(CR_HOOK_RSTRT_SIGNAL_CONTEXT) : static_cast<int>(CR_HOOK_CONT_SIGNAL_CONTEXT)) + static_cast<int>(kind);
  cr_hook_fn_t fn = __atomic_load_n(&g.hooks[event], __ATOMIC_ACQUIRE);
  if (fn && fn != CR_HOOK_FN_ERROR) fn(static_cast<cr_hook_event_t>(event));
}

void hold_barrier(ThreadState* self, int round, int value) {
  int hold = self ? load(&self->hold) : load(&g.hold_uninit);
  if (hold == CR_HOLD_DFLT) hold = load(&g.hold_init);
  int needed = value > 0 ? CR_HOLD_RSTRT : CR_HOLD_CONT;
  // With an after-signal to raise, nobody leaves its handler before it is raised.
  if (!(hold & needed) && !__atomic_load_n(&g.after_signal, __ATOMIC_ACQUIRE)) return;
  for (;;) {
    int seen = __atomic_load_n(&g.release_round, __ATOMIC_SEQ_CST);
    if (seen == round) break;
    futex_wait(&g.release_round, seen, -1);
  }
}

void participate(ThreadState* self) {
  int round = load(&g.round);
  ++self->in_part;
  wait_cs_drain();
  int value;
  HookKind kind;
  if (self->signal_callbacks.count() > 0) {
    value = run_callbacks(self, &self->signal_callbacks);
    kind = kHookSignal;
  } else {
    value = arrive(self, CR_CHECKPOINT_READY);
    kind = kHookNone;
  }
  run_hook(value, kind);
  store(&self->done_round, round);
  bump_event();
  hold_barrier(self, round, value);
  self->tid = sys_gettid();
  --self->in_part;
  if (__atomic_load_n(&g.abort_after, __ATOMIC_ACQUIRE)) abort();
}

void finish(ThreadState* self, int round) {
  // Wait for every other thread's after-code and hooks (those that took part), then
  // release the held ones, and tell the dumper (or restorer).
  wait_event([&] { return all_participants(round, &ThreadState::done_round); });
  // The after-signal: raised before anyone is released, and Done sent before too, since
  // a released thread's handler returns into the signal.
  int sig = __atomic_exchange_n(&g.after_signal, 0, __ATOMIC_ACQ_REL);
  raise_after_signal(sig);
  int fd = g.channel;
  g.channel = -1;
  g.coordinator = nullptr;
  if (self) self->tid = sys_gettid();
  __atomic_store_n(&g.busy, 0, __ATOMIC_SEQ_CST);
  futex_wake_all(&g.busy);
  proto::Done done{proto::kMagic, proto::kDone, sig, 0};
  if (sig) channel_send(fd, &done, sizeof done);
  __atomic_store_n(&g.release_round, round, __ATOMIC_SEQ_CST);
  futex_wake_all(&g.release_round);
  if (!sig) channel_send(fd, &done, sizeof done);
  close(fd);
  if (__atomic_load_n(&g.abort_after, __ATOMIC_ACQUIRE)) abort();
}

void coordinate(ThreadState* self) {
  // Without thread-context callbacks: phase 2 at once, from the handling thread.
  int round = load(&g.round);
  if (self) ++self->in_part;
  send_phase2_signals(self, round);
  int value;
  HookKind kind;
  if (self && self->signal_callbacks.count() > 0) {
    wait_cs_drain();
    value = run_callbacks(self, &self->signal_callbacks);  // concludes at the innermost level
    kind = kHookSignal;
  } else {
    value = conclude(round);
    if (self) self->value = value;
    kind = kHookNone;
  }
  run_hook(value, kind);
  if (self) --self->in_part;
  finish(self, round);
}

int start_callback_thread() {
  SignalBlock block(false);
  g.start_lock.lock();
  int err = 0;
  if (!__atomic_load_n(&g.callback_thread_started, __ATOMIC_ACQUIRE)) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);  // the new thread starts with every signal blocked
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t tid;
    err = pthread_create(&tid, &attr, callback_thread_main, nullptr);
    if (err == ENOMEM || err == EAGAIN) {
      pthread_attr_setstacksize(&attr, 4u << 20);
      err = pthread_create(&tid, &attr, callback_thread_main, nullptr);
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (err == 0) {
      __atomic_store_n(&g.callback_thread_started, 1, __ATOMIC_RELEASE);
      // Wait until it is ready to be woken, so a checkpoint right after the registration
      // runs its callbacks.
      while (!__atomic_load_n(&g.callback_thread, __ATOMIC_ACQUIRE)) syscall(SYS_sched_yield);
    }
  }
  g.start_lock.unlock();
  return err;
}

}  // namespace crest::libcr
