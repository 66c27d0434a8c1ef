/* Phase 2 in several threads (BLCR-API.md 2.1, 2.2, 1.8): each cr_init() thread runs its
 * signal-context callbacks itself; threads with cr_init() but no callbacks, and threads
 * that never called cr_init(), run the NO_CALLBACKS hook; the hold barrier keeps threads
 * (default) until every callback of every thread is done, except a thread that asked for
 * CR_HOLD_NONE; a second round with CR_HOLD_SCOPE_UNINIT set to NONE does not hold the
 * uninitialised thread. */
#include <pthread.h>
#include "cbtest.h"

#define NW 3
static pid_t tids[NW], cb_tids[NW];
static long long returned_at[NW], slow_done_at;
static int ready_count, no_cb_hooks, signal_hooks;

static int cb(void *arg) {
  int i = (int)(long)arg;
  cb_tids[i] = cb_gettid();
  int rc = cr_checkpoint(0);
  if (i == 0) { /* the slow one */
    sleep_ms(300);
    slow_done_at = now_ms();
  }
  return rc;
}

static void hook(cr_hook_event_t ev) {
  if (ev == CR_HOOK_CONT_NO_CALLBACKS) __atomic_add_fetch(&no_cb_hooks, 1, __ATOMIC_SEQ_CST);
  if (ev == CR_HOOK_CONT_SIGNAL_CONTEXT) __atomic_add_fetch(&signal_hooks, 1, __ATOMIC_SEQ_CST);
}

static int go;
static long long uninit_returned_at;
static void *uninit_thread(void *arg) {
  (void)arg;
  __atomic_add_fetch(&ready_count, 1, __ATOMIC_SEQ_CST);
  while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST)) {
    pause();
    if (!uninit_returned_at && cb_tids[0]) uninit_returned_at = now_ms();
  }
  return NULL;
}
static void wake(int sig) { (void)sig; }
/* worker 0: slow callback; worker 1: callback, hold NONE; worker 2: callback, default hold;
   worker 3 (index NW): cr_init() but no callbacks. */
static void *worker(void *arg) {
  int i = (int)(long)arg;
  cr_init();
  if (i < NW) {
    tids[i] = cb_gettid();
    cr_register_callback(cb, (void *)(long)i, CR_SIGNAL_CONTEXT);
  }
  if (i == 1) cr_hold_ctrl(CR_HOLD_SCOPE_THREAD, CR_HOLD_NONE);
  __atomic_add_fetch(&ready_count, 1, __ATOMIC_SEQ_CST);
  /* pause() returns once the handler (and so this thread's part) has returned */
  while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST)) {
    pause();
    if (i < NW && !returned_at[i] && cb_tids[i]) returned_at[i] = now_ms();
  }
  return NULL;
}

int main(void) {
  signal(SIGUSR1, wake);
  CHECK_EQ(cr_init(), 0); /* no callbacks in this thread */
  cr_register_hook(CR_HOOK_CONT_NO_CALLBACKS, hook);
  cr_register_hook(CR_HOOK_CONT_SIGNAL_CONTEXT, hook);
  pthread_t th[NW + 1], un;
  for (long i = 0; i <= NW; ++i) CHECK_EQ(pthread_create(&th[i], NULL, worker, (void *)i), 0);
  CHECK_EQ(pthread_create(&un, NULL, uninit_thread, NULL), 0);
  while (__atomic_load_n(&ready_count, __ATOMIC_SEQ_CST) != NW + 2) sleep_ms(2);
  char args[64];
  snprintf(args, sizeof args, "--tid %d --expect-decision 0", (int)cb_gettid());
  CHECK_EQ(run_driver(args), 0);
  sleep_ms(50);
  for (int i = 0; i < NW; ++i) {
    CHECK_EQ(cb_tids[i], tids[i]);
    CHECK(returned_at[i] != 0);
  }
  CHECK_EQ(signal_hooks, NW);
  CHECK_EQ(no_cb_hooks, 3); /* this thread, worker 3 and the uninitialised thread */
  CHECK(returned_at[1] < slow_done_at);  /* not held */
  CHECK(returned_at[2] >= slow_done_at); /* held until the slow callback finished */
  CHECK(uninit_returned_at >= slow_done_at); /* CR_HOLD_SCOPE_UNINIT: BOTH by default */

  /* Round 2: uninitialised threads are not held any more. */
  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_UNINIT, CR_HOLD_NONE), CR_HOLD_BOTH);
  uninit_returned_at = 0;
  slow_done_at = 0;
  for (int i = 0; i < NW; ++i) returned_at[i] = 0;
  no_cb_hooks = 0;
  CHECK_EQ(run_driver(args), 0);
  sleep_ms(50);
  CHECK_EQ(no_cb_hooks, 3);
  CHECK(uninit_returned_at != 0 && uninit_returned_at < slow_done_at);
  __atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i <= NW; ++i) {
    pthread_kill(th[i], SIGUSR1); /* wakes pause() */
    pthread_join(th[i], NULL);
  }
  pthread_kill(un, SIGUSR1);
  pthread_join(un, NULL);
  printf("ok\n");
  return 0;
}
