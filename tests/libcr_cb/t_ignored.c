/* Copies of CR_SIGNUM that are not a checkpoint request are ignored (BLCR-API.md
 * "user-sent copies of the signal are ignored"; docs/libcr.md step 2): kill(), sigqueue()
 * without the token tag, the internal token outside a checkpoint, and a tagged token from
 * a process that does not listen. A real request afterwards still works. */
#include "cbtest.h"

static volatile int ran;

static int cb(void *arg) {
  (void)arg;
  ran++;
  return cr_checkpoint(0) < 0;
}

int main(void) {
  CHECK_EQ(cr_init(), 0);
  CHECK(cr_register_callback(cb, NULL, CR_SIGNAL_CONTEXT) >= 0);
  CHECK(cr_register_callback(cb, NULL, CR_THREAD_CONTEXT) >= 0);
  CHECK_EQ(kill(getpid(), CR_SIGNUM), 0);
  union sigval v;
  v.sival_ptr = (void *)0x1234;
  CHECK_EQ(sigqueue(getpid(), CR_SIGNUM, v), 0);
  v.sival_ptr = (void *)((0xC5E7ull << 48) | 1); /* kInternalToken, no checkpoint running */
  CHECK_EQ(sigqueue(getpid(), CR_SIGNUM, v), 0);
  v.sival_ptr = (void *)((0xC5E7ull << 48) | 0x777); /* nobody listens for it */
  CHECK_EQ(sigqueue(getpid(), CR_SIGNUM, v), 0);
  sleep_ms(100);
  CHECK_EQ(ran, 0);
  CHECK_EQ(cr_status(), CR_STATE_IDLE);
  CHECK_EQ(run_driver("--expect-decision 0"), 0);
  CHECK_EQ(ran, 2);
  printf("ok\n");
  return 0;
}
