/* Threads that called cr_init() and exited (with or without a persist count) are not
 * waited for by later checkpoints; a hook may use critical sections (they return at once
 * during the checkpoint, as inside callbacks). */
#include <pthread.h>
#include "cbtest.h"

static int cb(void *arg) {
  (void)arg;
  return cr_checkpoint(0) != 0;
}

static void *short_lived(void *arg) {
  cr_init();
  cr_register_callback(cb, NULL, CR_SIGNAL_CONTEXT);
  if (arg) {
    cr_inc_persist();
    cr_inc_persist();
  }
  return NULL;
}

static volatile int hook_cs = -1, hooks_run;
static void hook(cr_hook_event_t e) {
  (void)e;
  int a = cr_enter_cs(0), b = cr_leave_cs(0);
  hook_cs = a | b;
  hooks_run++;
}

static int main_runs;
static int main_cb(void *arg) {
  (void)arg;
  main_runs++;
  return cr_checkpoint(0) != 0;
}

int main(void) {
  CHECK_EQ(cr_init(), 0);
  CHECK(cr_register_callback(main_cb, NULL, CR_SIGNAL_CONTEXT) >= 0);
  CHECK(cr_register_hook(CR_HOOK_CONT_SIGNAL_CONTEXT, hook) == NULL);
  for (long i = 0; i < 6; ++i) {
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, short_lived, (void *)(i & 1)), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
  }
  long long t0 = now_ms();
  CHECK_EQ(run_driver("--expect-decision 0 --timeout-ms 5000"), 0);
  CHECK(now_ms() - t0 < 3000);
  CHECK_EQ(main_runs, 1);
  CHECK_EQ(hooks_run, 1);
  CHECK_EQ(hook_cs, 0);
  CHECK_EQ(cr_status(), CR_STATE_IDLE);
  /* and sections work normally afterwards */
  CHECK_EQ(cr_enter_cs(0), 0);
  CHECK_EQ(cr_leave_cs(0), 0);
  printf("ok\n");
  return 0;
}
