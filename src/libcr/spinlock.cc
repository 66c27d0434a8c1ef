// BLCR's spinlocks: a word that is 0 when free and kLocked when held. Safe in signal
// handlers and across threads; waiting yields the CPU between attempts.
#include <libcr.h>
#include <sched.h>

namespace {
constexpr cr_spinlock_t kLocked = 0x27182818;
}

extern "C" {

void cr_spinlock_init(cr_spinlock_t* x) { __atomic_store_n(x, 0U, __ATOMIC_RELEASE); }

int cr_spinlock_trylock(cr_spinlock_t* x) {
  cr_spinlock_t expected = 0;
  return __atomic_compare_exchange_n(x, &expected, kLocked, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED);
}

void cr_spinlock_lock(cr_spinlock_t* x) {
  while (!cr_spinlock_trylock(x)) {
    while (__atomic_load_n(x, __ATOMIC_RELAXED) != 0) sched_yield();
  }
}

void cr_spinlock_unlock(cr_spinlock_t* x) { __atomic_store_n(x, 0U, __ATOMIC_RELEASE); }

}  // extern "C"
