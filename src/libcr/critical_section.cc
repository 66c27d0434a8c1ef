// Critical sections and cr_status() (BLCR-API.md 1.8, 2.2).
//
// g.cs_count counts the threads inside a critical section; a checkpoint (g.busy) waits
// for it to drain before any callback runs, and a thread entering its outermost section
// while a checkpoint is pending or running waits for it to finish (BLCR's red/black lock,
// so checkpoints are not starved). A thread inside a section when its phase-2 signal
// comes defers its part to its outermost cr_leave_cs(). Depth changes happen with
// CR_SIGNUM blocked so the handler never sees a half-entered section.
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine.h"

namespace crest::libcr {
namespace {

// 0: entered; 1: would block (try only); -1: error (errno set).
int enter(bool try_only) {
  ThreadState* self = current();
  if (!self) {
    errno = CR_ENOINIT;
    return -1;
  }
  // Inside a callback (or a hook, which runs during the checkpoint too): at once (BLCR).
  if (self->level || self->in_part) return 0;
  if (self->cs_depth > 0) {
    ++self->cs_depth;
    return 0;
  }
  for (;;) {
    {
      SignalBlock block(false);
      if (!__atomic_load_n(&g.busy, __ATOMIC_SEQ_CST)) {
        __atomic_add_fetch(&g.cs_count, 1, __ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&g.busy, __ATOMIC_SEQ_CST)) {
          self->cs_depth = 1;
          return 0;
        }
        // A checkpoint started meanwhile: step back so it can drain.
        __atomic_sub_fetch(&g.cs_count, 1, __ATOMIC_SEQ_CST);
        futex_wake_all(&g.cs_count);
      }
    }
    if (try_only) return 1;
    futex_wait(&g.busy, 1, -1);
  }
}

}  // namespace
}  // namespace crest::libcr

using namespace crest::libcr;

extern "C" {

int cr_enter_cs(cr_client_id_t) { return enter(false); }

int cr_tryenter_cs(cr_client_id_t) { return enter(true); }

int cr_leave_cs(cr_client_id_t) {
  ThreadState* self = current();
  if (!self) {
    errno = CR_ENOINIT;
    return -1;
  }
  if (self->level || self->in_part) return 0;
  if (self->cs_depth <= 0) {
    static const char kMsg[] = "STATE ERROR. Probably an excess call to cr_leave_cs()\n";
    ssize_t ignored = write(2, kMsg, sizeof kMsg - 1);
    (void)ignored;
    abort();
  }
  if (self->cs_depth > 1) {
    --self->cs_depth;
    return 0;
  }
  // The outermost leave: the deferred part (if any) runs as in the handler, with every
  // signal blocked, before returning.
  SignalBlock block(true);
  self->cs_depth = 0;
  __atomic_sub_fetch(&g.cs_count, 1, __ATOMIC_SEQ_CST);
  futex_wake_all(&g.cs_count);
  if (self->deferred_coordinate) {
    self->deferred_coordinate = false;
    coordinate(self);
  } else if (self->deferred) {
    self->deferred = false;
    // Unless the checkpoint went on without this thread (the dumper answered first).
    if (__atomic_load_n(&g.busy, __ATOMIC_ACQUIRE) &&
        __atomic_load_n(&self->signaled_round, __ATOMIC_ACQUIRE) == __atomic_load_n(&g.round, __ATOMIC_ACQUIRE))
      participate(self);
  }
  return 0;
}

int cr_status(void) {
  ThreadState* self = current();
  if (!self) {
    errno = CR_ENOINIT;
    return -1;
  }
  if (!__atomic_load_n(&g.busy, __ATOMIC_ACQUIRE)) return CR_STATE_IDLE;
  return __atomic_load_n(&self->active, __ATOMIC_ACQUIRE) > 0 ? CR_STATE_ACTIVE
                                                              : CR_STATE_PENDING;
}

}  // extern "C"
