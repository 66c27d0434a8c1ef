/* A thread-context callback may do what signal context forbids (BLCR's stage0002):
 * malloc, fork() + waitpid(), and the checkpoint goes on; the child's libcr state is
 * reset (it is not inside a callback). */
#include "cbtest.h"

static volatile int child_status = -1, rc_after = 1;

static int cb(void *arg) {
  (void)arg;
  char *p = malloc(1 << 20);
  if (!p) return 1;
  memset(p, 1, 1 << 20);
  free(p);
  pid_t pid = fork();
  if (pid == 0) {
    /* in the child: no libcr state, not in a callback */
    _exit(cr_status() == -1 && errno == CR_ENOINIT && cr_checkpoint(0) == -CR_ENOTCB ? 5 : 6);
  }
  int status;
  if (waitpid(pid, &status, 0) == pid && WIFEXITED(status)) child_status = WEXITSTATUS(status);
  rc_after = cr_checkpoint(0);
  return 0;
}

int main(void) {
  CHECK_EQ(cr_init(), 0);
  CHECK(cr_register_callback(cb, NULL, CR_THREAD_CONTEXT) >= 0);
  CHECK_EQ(run_driver("--expect-decision 0"), 0);
  CHECK_EQ(child_status, 5);
  CHECK_EQ(rc_after, 0);
  printf("ok\n");
  return 0;
}
