/* The dumper answers before Ready (its time limit, or it died): a cr_init() thread that
 * blocks CR_SIGNUM never takes its part, yet the handling thread does not wait for it
 * forever. It reads the Result the dumper sent, every callback that arrived returns it,
 * and Done follows. */
#include <pthread.h>
#include "cbtest.h"

static volatile int rc_seen = 1;
static int cb(void *arg) {
  (void)arg;
  rc_seen = cr_checkpoint(0);
  return 0;
}

static int ready_flag;
static void *deaf(void *arg) {
  (void)arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, CR_SIGNUM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  cr_init();
  __atomic_store_n(&ready_flag, 1, __ATOMIC_SEQ_CST);
  for (;;) pause();
  return NULL;
}

int main(void) {
  CHECK_EQ(cr_init(), 0);
  CHECK(cr_register_callback(cb, NULL, CR_SIGNAL_CONTEXT) >= 0);
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, deaf, NULL), 0);
  while (!__atomic_load_n(&ready_flag, __ATOMIC_SEQ_CST)) sleep_ms(2);
  char args[96], out[256];
  snprintf(args, sizeof args, "--tid %d --early-ms 300 --value -110", (int)cb_gettid());
  long long t0 = now_ms();
  CHECK_EQ(run_driver_output(args, out, sizeof out), 0);
  CHECK(now_ms() - t0 < 5000);
  CHECK(strstr(out, "early result\ndone\n") != NULL);
  CHECK_EQ(rc_seen, -110);
  CHECK_EQ(cr_status(), CR_STATE_IDLE);
  printf("ok\n");
  return 0;
}
