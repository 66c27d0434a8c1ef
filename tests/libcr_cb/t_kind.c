/* Which copy of crest answers (docs/libcr.md "Two copies of libcr in one process"):
 * run as   t_kind EXPECTED_LIB EXPECTED_DECISION EXPECTED_CALLBACK_RUNS
 * under the LD_PRELOAD the test sets. The program is linked with libcr (t_kind) or with
 * nothing (t_kind_plain, built with -DPLAIN). */
#include "cbtest.h"

static volatile int ran;

#ifndef PLAIN
static int cb(void *arg) {
  (void)arg;
  ran++;
  return cr_checkpoint(0) < 0;
}
#endif

int main(int argc, char **argv) {
  CHECK_EQ(argc, 4);
#ifndef PLAIN
  CHECK_EQ(cr_init(), 0);
  CHECK(cr_register_callback(cb, NULL, CR_SIGNAL_CONTEXT) >= 0);
#endif
  char args[128];
  snprintf(args, sizeof args, "--expect-lib %s --expect-decision %s", argv[1], argv[2]);
  CHECK_EQ(run_driver(args), 0);
  CHECK_EQ(ran, atoi(argv[3]));
  printf("ok\n");
  return 0;
}
