// Callback tables, registration and replacement, and the nesting of callbacks through
// cr_checkpoint() (BLCR-API.md 1.7, 2.1, 2.2 step 4).
//
// run_callbacks() invokes the newest callback; when it calls cr_checkpoint(flags) the next
// older one runs from inside that call, and so on; after the oldest, the thread arrives
// at the barrier (arrive()) and waits for the Result. Every level then returns the same
// value and the "after" code runs oldest to newest as the calls unwind. A non-zero flags
// value stops the descent. A callback that returns without calling cr_checkpoint() is
// treated as if it had called cr_checkpoint(0) on return.
#include <errno.h>
#include <stdlib.h>

#include "engine.h"

namespace crest::libcr {

namespace {

constexpr int kFirstChunk = 16;
constexpr int kContextMask = CR_THREAD_CONTEXT | CR_SIGNAL_CONTEXT;
constexpr int kIndexMask = CR_MAX_CALLBACKS;

void locate(int index, int* chunk, int* offset) {
  unsigned q = static_cast<unsigned>(index) / kFirstChunk + 1;
  int k = 31 - __builtin_clz(q);
  *chunk = k;
  *offset = index - kFirstChunk * ((1 << k) - 1);
}

int proceed(ThreadState* self, CallbackTable* table, int below, uint32_t flags);

// Runs the callback at index j as a new level; returns what its cr_checkpoint() returned.
int run_level(ThreadState* self, CallbackTable* table, int j, const Callback& cb) {
  Level level{table, j, false, self->level};
  self->level = &level;
  int rc = cb.func(cb.arg);
  self->level = level.outer;
  if (rc != 0) {
    // BLCR [code]: a callback that fails aborts the checkpoint with PERM_FAILURE, then
    // the process aborts.
    __atomic_store_n(&g.abort_after, 1, __ATOMIC_RELEASE);
    if (!level.called) proceed(self, table, j, CR_CHECKPOINT_PERM_FAILURE);
  } else if (!level.called) {
    proceed(self, table, j, CR_CHECKPOINT_READY);
  }
  return self->value;
}

// Continues the descent below index `below`, or stops it on a non-zero decision.
int proceed(ThreadState* self, CallbackTable* table, int below, uint32_t flags) {
  if (flags & CR_CHECKPOINT_ABORT_MASK) return arrive(self, flags);
  for (int j = below - 1; j >= 0; --j) {
    Callback cb;
    if (table == &g.thread_callbacks) {
      g.table_lock.lock();
      bool ok = table->get(j, &cb);
      g.table_lock.unlock();
      if (!ok) continue;
    } else if (!table->get(j, &cb)) {
      continue;
    }
    if (cb.func) return run_level(self, table, j, cb);
  }
  return arrive(self, CR_CHECKPOINT_READY);
}

// The table and index an id names, or null (EINVAL).
CallbackTable* table_of(ThreadState* self, int id, int* index) {
  if (id < 0) return nullptr;
  int context = id & kContextMask;
  if (id & ~(kContextMask | kIndexMask)) return nullptr;
  CallbackTable* table = nullptr;
  if (context == CR_THREAD_CONTEXT) table = &g.thread_callbacks;
  else if (context == CR_SIGNAL_CONTEXT) table = &self->signal_callbacks;
  else return nullptr;
  *index = id & kIndexMask;
  if (*index >= table->count()) return nullptr;
  return table;
}

bool replace_entry(CallbackTable* table, int index, const Callback& cb) {
  if (table == &g.thread_callbacks) {
    SignalBlock block(false);
    g.table_lock.lock();
    bool ok = table->set(index, cb);
    g.table_lock.unlock();
    return ok;
  }
  SignalBlock block(false);  // the thread's own handler reads its signal-context table
  return table->set(index, cb);
}

}  // namespace

Callback* CallbackTable::slot(int index) const {
  if (index < 0 || index >= count()) return nullptr;
  int k, off;
  locate(index, &k, &off);
  return chunks_[k] ? &chunks_[k][off] : nullptr;
}

int CallbackTable::add(const Callback& cb) {
  int n = count_;
  if (n >= CR_MAX_CALLBACKS) return -ENOSPC;
  int k, off;
  locate(n, &k, &off);
  if (k >= kChunks) return -ENOSPC;
  if (!chunks_[k]) {
    auto* chunk = static_cast<Callback*>(calloc(static_cast<size_t>(kFirstChunk) << k, sizeof(Callback)));
    if (!chunk) return -ENOMEM;
    __atomic_store_n(&chunks_[k], chunk, __ATOMIC_RELEASE);
  }
  chunks_[k][off] = cb;
  __atomic_store_n(&count_, n + 1, __ATOMIC_RELEASE);
  return n;
}

bool CallbackTable::get(int index, Callback* out) const {
  Callback* s = slot(index);
  if (!s) return false;
  *out = *s;
  return true;
}

bool CallbackTable::set(int index, const Callback& cb) {
  Callback* s = slot(index);
  if (!s) return false;
  *s = cb;
  return true;
}

void CallbackTable::reset() {
  for (auto& c : chunks_) c = nullptr;
  __atomic_store_n(&count_, 0, __ATOMIC_RELEASE);
}

int run_callbacks(ThreadState* self, CallbackTable* table) {
  self->value = 0;
  __atomic_add_fetch(&self->active, 1, __ATOMIC_ACQ_REL);
  int value = proceed(self, table, table->count(), CR_CHECKPOINT_READY);
  __atomic_sub_fetch(&self->active, 1, __ATOMIC_ACQ_REL);
  return value;
}

}  // namespace crest::libcr

using namespace crest::libcr;

extern "C" {

cr_callback_id_t cr_register_callback(cr_callback_t func, void* arg, int flags) {
  ThreadState* self = current();
  if (!self) {
    errno = CR_ENOINIT;
    return -1;
  }
  int context = flags & kContextMask;
  if (context != CR_THREAD_CONTEXT && context != CR_SIGNAL_CONTEXT) {
    errno = EINVAL;
    return -1;
  }
  if (self->level) {
    errno = EBUSY;
    return -1;
  }
  Callback cb{func, arg, flags};
  int index;
  if (context == CR_THREAD_CONTEXT) {
    {
      SignalBlock block(false);
      g.table_lock.lock();
      index = g.thread_callbacks.add(cb);
      g.table_lock.unlock();
    }
    if (index >= 0 && !__atomic_load_n(&g.callback_thread_started, __ATOMIC_ACQUIRE)) {
      int err = start_callback_thread();
      if (err) {
        errno = err;
        return -1;
      }
    }
  } else {
    SignalBlock block(false);
    index = self->signal_callbacks.add(cb);
  }
  if (index < 0) {
    errno = -index;
    return -1;
  }
  return index | context;
}

int cr_replace_callback(cr_callback_id_t id, cr_callback_t func, void* arg, int flags) {
  ThreadState* self = current();
  if (!self) {
    errno = CR_ENOINIT;
    return -1;
  }
  if (self->level) {
    errno = EBUSY;
    return -1;
  }
  int index;
  CallbackTable* table = table_of(self, id, &index);
  if (!table || (flags & kContextMask) != (id & kContextMask)) {
    errno = EINVAL;
    return -1;
  }
  if (!replace_entry(table, index, Callback{func, arg, flags})) {
    errno = EINVAL;
    return -1;
  }
  return 0;
}

int cr_replace_self(cr_callback_t func, void* arg, int flags) {
  ThreadState* self = current();
  if (!self || !self->level) {
    errno = CR_ENOTCB;
    return -1;
  }
  Level* level = self->level;
  int context = level->table == &g.thread_callbacks ? CR_THREAD_CONTEXT : CR_SIGNAL_CONTEXT;
  if ((flags & kContextMask) != context) {
    errno = EINVAL;
    return -1;
  }
  if (!replace_entry(level->table, level->index, Callback{func, arg, flags})) {
    errno = EINVAL;
    return -1;
  }
  return 0;
}

int cr_checkpoint(int flags) {
  ThreadState* self = current();
  if (!self || !self->level) {
    errno = CR_ENOTCB;
    return -CR_ENOTCB;
  }
  Level* level = self->level;
  if (level->called) return self->value;  // a second call: the same answer
  level->called = true;
  return proceed(self, level->table, level->index, static_cast<uint32_t>(flags));
}

}  // extern "C"
