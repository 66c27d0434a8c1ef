/* Decisions (BLCR-API.md 2.3; after BLCR's failed_cb): a non-zero cr_checkpoint() flag
 * stops the descent (older callbacks never run), is reported in Ready as the combined
 * decision (PERM > TEMP > OMIT > READY, user codes in the top 16 bits), and the Result
 * is what every level returns. A TEMP failure in a thread-context callback skips the
 * signal-context ones. */
#include <pthread.h>
#include "cbtest.h"

static struct cb_log log_;
static int flags_for[3];
static volatile int worker_flags = -1;

static int cb(void *arg) {
  int n = (int)(long)arg;
  char s[32];
  snprintf(s, sizeof s, "c%db", n);
  log_add(&log_, s);
  int rc = cr_checkpoint(flags_for[n]);
  snprintf(s, sizeof s, "c%da%d", n, rc);
  log_add(&log_, s);
  return 0;
}

static int worker_cb(void *arg) {
  (void)arg;
  int rc = cr_checkpoint(worker_flags < 0 ? 0 : worker_flags);
  char s[32];
  snprintf(s, sizeof s, "w%d", rc);
  log_add(&log_, s);
  return 0;
}

static int ready_worker;
static void *worker(void *arg) {
  (void)arg;
  cr_init();
  cr_register_callback(worker_cb, NULL, CR_SIGNAL_CONTEXT);
  __atomic_store_n(&ready_worker, 1, __ATOMIC_SEQ_CST);
  for (;;) pause();
  return NULL;
}

static int thread_flags;
static int thread_cb(void *arg) {
  (void)arg;
  int rc = cr_checkpoint(thread_flags);
  char s[32];
  snprintf(s, sizeof s, "t%d", rc);
  log_add(&log_, s);
  return 0;
}

static void run(int f0, int f1, int f2, const char *driver_args, const char *expect) {
  flags_for[0] = f0;
  flags_for[1] = f1;
  flags_for[2] = f2;
  log_clear(&log_);
  CHECK_EQ(run_driver(driver_args), 0);
  CHECK_STR(log_str(&log_), expect);
}

int main(void) {
  CHECK_EQ(cr_init(), 0);
  for (long i = 0; i < 3; ++i) CHECK(cr_register_callback(cb, (void *)i, CR_SIGNAL_CONTEXT) >= 0);

  /* failed_cb: callback 2 ready, 1 TEMP, 0 never runs; both levels see -CR_ETEMPFAIL. */
  run(0, CR_CHECKPOINT_TEMP_FAILURE, 0, "--expect-decision 1 --value -2354",
      "c2b c1b c1a-2354 c2a-2354");
  run(0, CR_CHECKPOINT_TEMP_FAILURE_CODE(77), 0, "--expect-decision 0x4d0001 --value -77",
      "c2b c1b c1a-77 c2a-77");
  run(0, 0, CR_CHECKPOINT_OMIT, "--expect-decision 4 --value -2358",
      "c2b c2a-2358");
  run(0, 0, CR_CHECKPOINT_PERM_FAILURE_CODE(5), "--expect-decision 0x50002 --value -5",
      "c2b c2a-5");
  run(0, 0, 0, "--expect-decision 0 --value 0", "c2b c1b c0b c0a0 c1a0 c2a0");

  /* Combined over threads: the worker says OMIT, this thread TEMP: TEMP wins. */
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, worker, NULL), 0);
  while (!__atomic_load_n(&ready_worker, __ATOMIC_SEQ_CST)) sleep_ms(5);
  worker_flags = CR_CHECKPOINT_OMIT;
  flags_for[0] = flags_for[1] = 0;
  flags_for[2] = CR_CHECKPOINT_TEMP_FAILURE;
  log_clear(&log_);
  char args[128];
  snprintf(args, sizeof args, "--tid %d --expect-decision 1 --value -2354", (int)cb_gettid());
  CHECK_EQ(run_driver(args), 0);
  CHECK(strstr(log_str(&log_), "w-2354") != NULL);
  CHECK(strstr(log_str(&log_), "c2a-2354") != NULL);
  /* The worker PERM, this thread OMIT: PERM wins. */
  worker_flags = CR_CHECKPOINT_PERM_FAILURE;
  flags_for[2] = CR_CHECKPOINT_OMIT;
  snprintf(args, sizeof args, "--tid %d --expect-decision 2 --value -2355", (int)cb_gettid());
  CHECK_EQ(run_driver(args), 0);

  /* A thread-context TEMP failure: no signal-context callback runs. */
  thread_flags = CR_CHECKPOINT_TEMP_FAILURE;
  worker_flags = 0;
  flags_for[2] = 0;
  CHECK(cr_register_callback(thread_cb, NULL, CR_THREAD_CONTEXT) >= 0);
  log_clear(&log_);
  CHECK_EQ(run_driver("--expect-decision 1 --value -2354"), 0);
  CHECK_STR(log_str(&log_), "t-2354");
  printf("ok\n");
  return 0;
}
