/* Back-to-back checkpoints racing critical sections in several threads (after BLCR's
 * cs_enter_leave*, cr_tryenter_cs): no callback ever runs while a thread is inside a
 * section, every checkpoint completes, and the sections keep working in between. */
#include <pthread.h>
#include "cbtest.h"

#define NW 3
#define ROUNDS 40
static int app_in_cs, stop, bad, callbacks_run, sections[NW];

static int cb(void *arg) {
  (void)arg;
  if (__atomic_load_n(&app_in_cs, __ATOMIC_SEQ_CST) != 0) __atomic_add_fetch(&bad, 1, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&callbacks_run, 1, __ATOMIC_SEQ_CST);
  int rc = cr_checkpoint(0);
  if (rc != 0) __atomic_add_fetch(&bad, 100, __ATOMIC_SEQ_CST);
  return 0;
}

static void *worker(void *arg) {
  int i = (int)(long)arg;
  cr_init();
  cr_register_callback(cb, NULL, CR_SIGNAL_CONTEXT);
  unsigned n = 0;
  while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
    int r = (i == 0) ? cr_tryenter_cs(0) : cr_enter_cs(0);
    if (r == 1) continue; /* would block: not entered */
    if (r != 0) __atomic_add_fetch(&bad, 1000, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&app_in_cs, 1, __ATOMIC_SEQ_CST);
    if (++n % 3 == 0) { /* nested */
      cr_enter_cs(0);
      cr_leave_cs(0);
    }
    for (volatile int k = 0; k < 2000; ++k) {
    }
    __atomic_sub_fetch(&app_in_cs, 1, __ATOMIC_SEQ_CST);
    cr_leave_cs(0);
    sections[i]++;
  }
  return NULL;
}

int main(void) {
  CHECK_EQ(cr_init(), 0);
  CHECK(cr_register_callback(cb, NULL, CR_THREAD_CONTEXT) >= 0);
  pthread_t th[NW];
  for (long i = 0; i < NW; ++i) CHECK_EQ(pthread_create(&th[i], NULL, worker, (void *)i), 0);
  sleep_ms(20);
  for (int r = 0; r < ROUNDS; ++r) {
    CHECK_EQ(run_driver("--expect-decision 0 --timeout-ms 5000"), 0);
    CHECK_EQ(cr_status(), CR_STATE_IDLE);
  }
  __atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i < NW; ++i) pthread_join(th[i], NULL);
  CHECK_EQ(bad, 0);
  CHECK_EQ(callbacks_run, ROUNDS * (NW + 1));
  for (int i = 0; i < NW; ++i) CHECK(sections[i] > 0);
  printf("ok\n");
  return 0;
}
