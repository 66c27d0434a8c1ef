/* cr_forward_checkpoint() from a callback sends Forward and returns the dumper's answer
 * (0, or -1 with its errno); outside a callback CR_ENOTCB (BLCR-API.md 1.6). */
#include "cbtest.h"

static int results[2], errnos[2];

static int cb(void *arg) {
  (void)arg;
  results[0] = cr_forward_checkpoint(CR_SCOPE_TREE, 1234);
  errnos[0] = errno;
  results[1] = cr_forward_checkpoint(CR_SCOPE_PGRP, 0);
  errnos[1] = errno;
  return cr_checkpoint(0) < 0;
}

int main(void) {
  CHECK_EQ(cr_init(), 0);
  CHECK(cr_register_callback(cb, NULL, CR_THREAD_CONTEXT) >= 0);
  char out[512];
  CHECK_EQ(run_driver_output("--forward-err 3", out, sizeof out), 0);
  CHECK(strstr(out, "forward scope=3 target=1234\nforward scope=1 target=0\nready decision=0") != NULL);
  CHECK_EQ(results[0], -1);
  CHECK_EQ(errnos[0], ESRCH);
  CHECK_EQ(results[1], -1);
  CHECK_EQ(run_driver_output("--forward-err 0", out, sizeof out), 0);
  CHECK_EQ(results[0], 0);
  CHECK_EQ(results[1], 0);
  CHECK_EQ(cr_forward_checkpoint(CR_SCOPE_PROC, getpid()), -1);
  CHECK_EQ(errno, CR_ENOTCB);
  printf("ok\n");
  return 0;
}
