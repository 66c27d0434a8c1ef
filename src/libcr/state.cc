// Per-thread state and the calls that only manage it: cr_init(), cr_hold_ctrl(),
// cr_inc_persist()/cr_dec_persist(), cr_register_hook(), and the reset after fork().
//
// A thread's state is a calloc'ed ThreadState reached through one initial-exec TLS
// pointer (a signal handler must not trigger the lazy TLS allocation of a dlopen'ed
// library) and a pthread key whose destructor removes it from the process's list when the
// thread exits.
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

namespace crest::libcr {

constinit Process g;

namespace {

__thread ThreadState* tls_self __attribute__((tls_model("initial-exec"))) = nullptr;
pthread_key_t state_key;
int state_key_ok = 0;

void link(ThreadState* s) {
  SignalBlock block(false);
  g.threads_lock.lock();
  s->prev = nullptr;
  s->next = g.threads;
  if (g.threads) g.threads->prev = s;
  g.threads = s;
  g.threads_lock.unlock();
}

void unlink(ThreadState* s) {
  SignalBlock block(false);
  g.threads_lock.lock();
  if (s->prev) s->prev->next = s->next;
  else if (g.threads == s) g.threads = s->next;
  if (s->next) s->next->prev = s->prev;
  s->next = s->prev = nullptr;
  g.threads_lock.unlock();
}

// The thread is exiting. A persist count keeps the state through the other keys'
// destructors (glibc calls destructors again while a key is set again, up to
// PTHREAD_DESTRUCTOR_ITERATIONS passes); an unbalanced count leaks it, as in BLCR.
void on_thread_exit(void* p) {
  auto* s = static_cast<ThreadState*>(p);
  if (s->persist > 0 && s->rearmed < PTHREAD_DESTRUCTOR_ITERATIONS - 1) {
    ++s->rearmed;
    pthread_setspecific(state_key, s);
    return;
  }
  unlink(s);
  tls_self = nullptr;
  if (s->persist == 0) {
    s->signal_callbacks.reset();
    free(s);
  }
}

ThreadState* new_state() {
  auto* s = static_cast<ThreadState*>(calloc(1, sizeof(ThreadState)));
  if (!s) return nullptr;
  s->tid = sys_gettid();
  s->hold = CR_HOLD_DFLT;
  return s;
}

}  // namespace

ThreadState* current() { return tls_self; }

bool in_callback() {
  ThreadState* s = tls_self;
  return s && s->level;
}

ThreadState* adopt_callback_thread() {
  ThreadState* s = new_state();
  if (!s) return nullptr;
  s->callback_thread = true;
  tls_self = s;
  return s;
}

// Called from the constructor (handler.cc).
void init_state_key() {
  if (!state_key_ok && pthread_key_create(&state_key, on_thread_exit) == 0) state_key_ok = 1;
}

void reset_after_fork() {
  // The child has one thread, the one that forked; everything else is gone (BLCR's atfork
  // handler): callbacks, the callback thread, critical sections, hooks and holds. The
  // child calls cr_init() again. Old states and tables are leaked, not freed: another
  // thread of the parent may have been using the allocator.
  ThreadState* self = tls_self;
  tls_self = nullptr;
  if (self && state_key_ok) pthread_setspecific(state_key, nullptr);
  g.threads_lock.word = 0;
  g.threads = nullptr;
  g.table_lock.word = 0;
  g.thread_callbacks.reset();
  g.start_lock.word = 0;
  g.callback_thread_started = 0;
  g.callback_thread = nullptr;
  g.hold_init = CR_HOLD_BOTH;
  g.hold_uninit = CR_HOLD_BOTH;
  for (auto& h : g.hooks) h = nullptr;
  g.busy = 0;
  g.cs_count = 0;
  g.decision = 0;
  g.abort_after = 0;
  g.coordinator = nullptr;
  g.channel = -1;  // the parent's descriptor, if any, stays open in the child: not ours
  g.forward_lock.word = 0;
}

}  // namespace crest::libcr

using namespace crest::libcr;

extern "C" {

cr_client_id_t cr_init(void) {
  // crest has no kernel module, so there is nothing to open and no ENOSYS/CR_EVERSION:
  // the first call in a thread allocates its state and registers it for phase 2.
  ThreadState* s = tls_self;
  if (s) return ++s->init_calls;
  s = new_state();
  if (!s) {
    errno = ENOMEM;
    return -1;
  }
  tls_self = s;
  if (state_key_ok) pthread_setspecific(state_key, s);
  link(s);
  return 0;
}

int cr_hold_ctrl(int scope, int flags) {
  ThreadState* s = tls_self;
  if (!s) {
    errno = CR_ENOINIT;
    return -1;
  }
  int* slot = nullptr;
  switch (scope) {
    case CR_HOLD_SCOPE_THREAD: slot = &s->hold; break;
    case CR_HOLD_SCOPE_INIT: slot = &g.hold_init; break;
    case CR_HOLD_SCOPE_UNINIT: slot = &g.hold_uninit; break;
    default: errno = EINVAL; return -1;
  }
  if (flags == CR_HOLD_READ) return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  bool valid = (flags >= CR_HOLD_NONE && flags <= CR_HOLD_BOTH) ||
               (flags == CR_HOLD_DFLT && scope == CR_HOLD_SCOPE_THREAD);
  if (!valid) {
    errno = EINVAL;
    return -1;
  }
  return __atomic_exchange_n(slot, flags, __ATOMIC_ACQ_REL);
}

int cr_inc_persist(void) {
  ThreadState* s = tls_self;
  if (!s) {
    errno = CR_ENOINIT;
    return -1;
  }
  if (s->persist == INT_MAX) {
    errno = ERANGE;
    return -1;
  }
  return s->persist++;
}

int cr_dec_persist(void) {
  ThreadState* s = tls_self;
  if (!s) {
    errno = CR_ENOINIT;
    return -1;
  }
  if (s->persist == 0) {
    errno = ERANGE;
    return -1;
  }
  return s->persist--;
}

cr_hook_fn_t cr_register_hook(cr_hook_event_t event, cr_hook_fn_t fn) {
  if (!tls_self) {
    errno = CR_ENOINIT;
    return CR_HOOK_FN_ERROR;
  }
  if (static_cast<int>(event) < 0 || static_cast<int>(event) >= CR_NUM_HOOKS ||
      fn == CR_HOOK_FN_ERROR) {
    errno = EINVAL;
    return CR_HOOK_FN_ERROR;
  }
  return __atomic_exchange_n(&g.hooks[event], fn, __ATOMIC_ACQ_REL);
}

}  // extern "C"
