/* A callback that returns non-zero (BLCR-API.md 2.3, [code]): the checkpoint is aborted
 * with PERM_FAILURE (Ready says 2; older callbacks do not run) and the process then
 * calls abort(). */
#include "cbtest.h"

static int older(void *arg) {
  (void)arg;
  static const char msg[] = "older callback ran\n";
  write(2, msg, sizeof msg - 1);
  return 0;
}

static int failing(void *arg) {
  (void)arg;
  return 1;
}

int main(void) {
  int ready[2];
  CHECK_EQ(pipe(ready), 0);
  pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    if (cr_init() != 0) _exit(10);
    cr_register_callback(older, NULL, CR_SIGNAL_CONTEXT);
    cr_register_callback(failing, NULL, CR_SIGNAL_CONTEXT);
    CHECK_EQ(write(ready[1], "x", 1), 1);
    for (;;) pause();
  }
  close(ready[1]);
  char c;
  CHECK_EQ(read(ready[0], &c, 1), 1);
  cb_driver_target = child;
  char out[256];
  CHECK_EQ(run_driver_output("--expect-decision 2 --value -2355", out, sizeof out), 0);
  CHECK(strstr(out, "ready decision=0x2") != NULL);
  int status;
  CHECK_EQ(waitpid(child, &status, 0), child);
  CHECK(WIFSIGNALED(status));
  CHECK_EQ(WTERMSIG(status), SIGABRT);
  printf("ok\n");
  return 0;
}
