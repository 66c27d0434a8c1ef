// libcr's in-process callback engine: what state.cc, callbacks.cc, critical_section.cc,
// handler.cc, channel.cc and info.cc share. Everything here may run in a signal handler
// unless it says otherwise: no malloc, no locks that a signal could interrupt, only raw
// futexes, atomics and direct system calls. docs/libcr.md ("Inside the process") explains
// the phases.
#pragma once

#include <libcr.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"
#include "protocol.h"

namespace crest::libcr {

namespace proto = crest::libcr_proto;

// ---- primitives (handler.cc) ----

pid_t sys_getpid();
pid_t sys_gettid();
// futex(FUTEX_WAIT) on *word while it equals expected; timeout_ms < 0 waits forever.
void futex_wait(int* word, int expected, int timeout_ms);
void futex_wake_all(int* word);

// Blocks every signal (all = true) or only CR_SIGNUM for the object's lifetime, with the
// rt_sigprocmask system call (async-signal-safe).
class SignalBlock {
 public:
  explicit SignalBlock(bool all);
  ~SignalBlock();
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  uint64_t old_ = 0;
};

// A spin lock for short internal sections. Holders block CR_SIGNUM (or are inside the
// handler), so the handler never spins on a lock its own thread holds.
struct SpinLock {
  int word = 0;
  void lock();
  void unlock();
};

// ---- the application's CR_SIGNUM action (app_action.cc) ----

// What the application installed on CR_SIGNUM while a crest handler owns it: the shadow
// its sigaction()/signal() calls read and write (exported as crsig_app_action).
struct AppAction {
  int crest_owns;           // a crest handler is installed: shadow CR_SIGNUM from now on
  int set;                  // the application installed `action`
  struct sigaction action;
};
// The first copy's shared AppAction (resolved on first use; call it from the constructor).
AppAction* app_action();
// glibc's sigaction(), bypassing the interposition.
int kernel_sigaction(int sig, const struct sigaction* act, struct sigaction* old);
// A CR_SIGNUM that is not part of a checkpoint: the application's own action for it.
void pass_to_application(int sig, siginfo_t* info, void* context);

// ---- callbacks (callbacks.cc) ----

struct Callback {
  cr_callback_t func;
  void* arg;
  int flags;
};

// Callbacks of one context in registration order. Entries are stored in chunks that never
// move (chunk k holds 16 << k entries), so a signal handler can read the table while the
// thread that owns it was interrupted in the middle of a registration.
class CallbackTable {
 public:
  static constexpr int kChunks = 22;
  // Appends; returns the index, or -errno (ENOSPC, ENOMEM). Not signal-safe (calloc).
  int add(const Callback& cb);
  bool get(int index, Callback* out) const;
  bool set(int index, const Callback& cb);
  int count() const { return __atomic_load_n(&count_, __ATOMIC_ACQUIRE); }
  // Forgets every entry (the chunks are leaked: after fork() they may be in use).
  void reset();

 private:
  Callback* slot(int index) const;
  Callback* chunks_[kChunks] = {};
  int count_ = 0;
};

// One running callback of a thread: its place in the table and whether it has called
// cr_checkpoint() yet. Levels nest as callbacks call cr_checkpoint().
struct Level {
  CallbackTable* table;
  int index;
  bool called;
  Level* outer;
};

// ---- per-thread state (state.cc) ----

// Which hook a thread runs after its part of a checkpoint (offset into cr_hook_event_t).
enum HookKind { kHookSignal = 0, kHookThread = 1, kHookNone = 2 };

struct ThreadState {
  ThreadState* next;          // in the process's list of cr_init() threads
  ThreadState* prev;
  int tid;                    // refreshed after every checkpoint (a restart may change it)
  int init_calls;             // cr_init() calls so far
  int persist;                // cr_inc_persist() count
  int rearmed;                // TLS destructor passes survived thanks to persist
  int hold;                   // CR_HOLD_* for CR_HOLD_SCOPE_THREAD (CR_HOLD_DFLT at first)
  int cs_depth;               // nesting of cr_enter_cs()
  bool deferred;              // a phase-2 part waits for the outermost cr_leave_cs()
  bool deferred_coordinate;   // the whole checkpoint waits for it (this thread got it)
  bool callback_thread;       // libcr's thread for CR_THREAD_CONTEXT callbacks
  int active;                 // > 0 while this thread runs its callbacks
  int in_part;                // > 0 during its whole part (callbacks, hook, hold barrier)
  Level* level;               // innermost running callback, null outside callbacks
  int value;                  // what cr_checkpoint() returns in this round
  // Rounds (checkpoint numbers) this thread was signalled in, arrived at the barrier in
  // (reached its innermost cr_checkpoint()), and finished its part of.
  int signaled_round;
  int arrived_round;
  int done_round;
  CallbackTable signal_callbacks;
};

// The calling thread's state, null when it never called cr_init().
ThreadState* current();
// Allocates the calling thread's state for libcr's callback thread (not listed).
ThreadState* adopt_callback_thread();

// ---- process-wide state ----

struct Process {
  SpinLock threads_lock;
  ThreadState* threads = nullptr;       // cr_init() threads, newest first

  SpinLock table_lock;                  // CR_THREAD_CONTEXT entries
  CallbackTable thread_callbacks;
  SpinLock start_lock;                  // starting the callback thread
  int callback_thread_started = 0;
  ThreadState* callback_thread = nullptr;

  int hold_init = CR_HOLD_BOTH;
  int hold_uninit = CR_HOLD_BOTH;
  cr_hook_fn_t hooks[CR_NUM_HOOKS] = {};

  // The checkpoint in progress. Futex words are ints.
  int busy = 0;            // 1 from the Request until just before Done
  int cs_count = 0;        // threads inside a critical section
  int event = 0;           // bumped at every arrival and completion
  int round = 0;           // number of the current (or last) checkpoint
  int phase1_round = 0;    // the callback thread runs its callbacks when this changes
  int result_round = 0;    // = round once the Result is known
  int release_round = 0;   // = round when held threads may go
  uint32_t decision = 0;   // combined cr_checkpoint() flags
  int result_value = 0;
  int after_signal = 0;    // the request's positive signal, raised before Done (continue)
  int abort_after = 0;     // a callback returned non-zero: abort() once done
  ThreadState* coordinator = nullptr;  // the handling thread's state (null if uninit)
  int channel = -1;

  proto::Request request = {};
  proto::Result result = {};
  cr_checkpoint_info checkpoint_info = {};
  cr_restart_info restart_info = {};
  SpinLock forward_lock;
};

extern Process g;

// Resets the process state in a fork() child (state.cc).
void reset_after_fork();
// Creates the pthread key whose destructor forgets an exiting thread (state.cc).
void init_state_key();

// ---- the checkpoint (handler.cc, callbacks.cc) ----

// Records a cr_checkpoint() flag value in the process's combined decision.
void combine_decision(uint32_t flags);
// Runs a group of callbacks newest first, nested; returns what cr_checkpoint() returned.
int run_callbacks(ThreadState* self, CallbackTable* table);
// The innermost cr_checkpoint() of a thread: arrive at the barrier, wait for the Result.
int arrive(ThreadState* self, uint32_t flags);
// A thread's part of phase 2 (in the handler, or from its outermost cr_leave_cs()).
void participate(ThreadState* self);
// The handling thread's whole checkpoint (in the handler or from cr_leave_cs()).
void coordinate(ThreadState* self);
// Waits until no thread is inside a critical section.
void wait_cs_drain();
// Runs the hook for the thread's kind and the result's direction.
void run_hook(int value, HookKind kind);
// Waits at the hold barrier if the thread's hold setting says so.
void hold_barrier(ThreadState* self, int round, int value);
// Starts libcr's callback thread (not signal-safe); 0 or errno.
int start_callback_thread();

// ---- the channel to the dumper or restorer (channel.cc) ----

// Connects to the dumper's socket, checks it is the process that signalled, and sends
// Hello; returns the descriptor, or -1 on any failure (the request is then ignored).
int channel_connect(pid_t dumper, uint64_t token);
bool channel_send(int fd, const void* msg, int len);
// Receives one packet; returns its length, or -1 (peer gone, error).
int channel_recv(int fd, void* msg, int len);

}  // namespace crest::libcr
