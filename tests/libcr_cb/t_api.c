/* Return values and errno of the callback API outside a checkpoint (BLCR-API.md 1.6-1.8):
 * CR_ENOINIT before cr_init(), cr_init()'s ids, registration ids and EINVAL, CR_ENOTCB
 * outside callbacks, cr_register_hook(), cr_hold_ctrl() defaults, persist ERANGE on a
 * fresh thread, and the reset in a fork() child. */
#include <pthread.h>
#include "cbtest.h"

static int cb(void *arg) { (void)arg; return 0; }
static void hook_a(cr_hook_event_t e) { (void)e; }
static void hook_b(cr_hook_event_t e) { (void)e; }

static void *fresh_thread(void *arg) {
  (void)arg;
  CHECK_EQ(cr_init(), 0);
  CHECK_EQ(cr_dec_persist(), -1); /* stage0004 */
  CHECK_EQ(errno, ERANGE);
  CHECK_EQ(cr_inc_persist(), 0);
  CHECK_EQ(cr_inc_persist(), 1);
  CHECK_EQ(cr_dec_persist(), 2);
  CHECK_EQ(cr_dec_persist(), 1);
  CHECK_EQ(cr_dec_persist(), -1);
  CHECK_EQ(errno, ERANGE);
  /* ids are per thread */
  CHECK_EQ(cr_register_callback(cb, NULL, CR_SIGNAL_CONTEXT), CR_SIGNAL_CONTEXT | 0);
  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_THREAD, CR_HOLD_READ), CR_HOLD_DFLT);
  return NULL;
}

int main(void) {
  errno = 0;
  CHECK_EQ(cr_register_callback(cb, NULL, CR_SIGNAL_CONTEXT), -1);
  CHECK_EQ(errno, CR_ENOINIT);
  errno = 0;
  CHECK_EQ(cr_enter_cs(0), -1);
  CHECK_EQ(errno, CR_ENOINIT);
  CHECK_EQ(cr_tryenter_cs(0), -1);
  CHECK_EQ(cr_leave_cs(0), -1);
  CHECK_EQ(cr_status(), -1);
  CHECK_EQ(errno, CR_ENOINIT);
  CHECK(cr_register_hook(CR_HOOK_CONT_SIGNAL_CONTEXT, hook_a) == CR_HOOK_FN_ERROR);
  CHECK_EQ(errno, CR_ENOINIT);
  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_INIT, CR_HOLD_READ), -1);
  CHECK_EQ(errno, CR_ENOINIT);
  CHECK_EQ(cr_inc_persist(), -1);
  CHECK_EQ(errno, CR_ENOINIT);
  CHECK_EQ(cr_replace_callback(CR_SIGNAL_CONTEXT, cb, NULL, CR_SIGNAL_CONTEXT), -1);
  CHECK_EQ(errno, CR_ENOINIT);

  CHECK_EQ(cr_init(), 0);
  CHECK_EQ(cr_init(), 1);
  CHECK_EQ(cr_init(), 2);
  CHECK_EQ(cr_status(), CR_STATE_IDLE);

  CHECK_EQ(cr_register_callback(cb, NULL, 0), -1);
  CHECK_EQ(errno, EINVAL);
  CHECK_EQ(cr_register_callback(cb, NULL, CR_SIGNAL_CONTEXT | CR_THREAD_CONTEXT), -1);
  CHECK_EQ(errno, EINVAL);
  CHECK_EQ(cr_register_callback(cb, NULL, CR_SIGNAL_CONTEXT), 0x2000000);
  CHECK_EQ(cr_register_callback(cb, NULL, CR_SIGNAL_CONTEXT), 0x2000001);
  CHECK_EQ(cr_register_callback(cb, NULL, CR_THREAD_CONTEXT), 0x4000000);
  CHECK_EQ(cr_register_callback(cb, NULL, CR_THREAD_CONTEXT), 0x4000001);

  errno = 0;
  CHECK_EQ(cr_checkpoint(0), -CR_ENOTCB);
  CHECK_EQ(errno, CR_ENOTCB);
  CHECK_EQ(cr_replace_self(cb, NULL, CR_SIGNAL_CONTEXT), -1);
  CHECK_EQ(errno, CR_ENOTCB);
  CHECK_EQ(cr_forward_checkpoint(CR_SCOPE_PROC, getpid()), -1);
  CHECK_EQ(errno, CR_ENOTCB);
  CHECK(cr_get_checkpoint_info() == NULL);
  CHECK(cr_get_restart_info() == NULL);

  CHECK(cr_register_hook((cr_hook_event_t)-1, hook_a) == CR_HOOK_FN_ERROR);
  CHECK_EQ(errno, EINVAL);
  CHECK(cr_register_hook(CR_NUM_HOOKS, hook_a) == CR_HOOK_FN_ERROR);
  CHECK_EQ(errno, EINVAL);
  CHECK(cr_register_hook(CR_HOOK_RSTRT_NO_CALLBACKS, CR_HOOK_FN_ERROR) == CR_HOOK_FN_ERROR);
  CHECK_EQ(errno, EINVAL);
  CHECK(cr_register_hook(CR_HOOK_RSTRT_NO_CALLBACKS, hook_a) == NULL);
  CHECK(cr_register_hook(CR_HOOK_RSTRT_NO_CALLBACKS, hook_b) == hook_a);
  CHECK(cr_register_hook(CR_HOOK_RSTRT_NO_CALLBACKS, NULL) == hook_b);

  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_THREAD, CR_HOLD_READ), CR_HOLD_DFLT);
  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_INIT, CR_HOLD_READ), CR_HOLD_BOTH);
  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_UNINIT, CR_HOLD_READ), CR_HOLD_BOTH);
  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_UNINIT, CR_HOLD_NONE), CR_HOLD_BOTH);
  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_UNINIT, CR_HOLD_READ), CR_HOLD_NONE);
  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_THREAD, CR_HOLD_CONT), CR_HOLD_DFLT);
  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_THREAD, CR_HOLD_DFLT), CR_HOLD_CONT);
  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_INIT, CR_HOLD_DFLT), -1);
  CHECK_EQ(errno, EINVAL);
  CHECK_EQ(cr_hold_ctrl(7, CR_HOLD_NONE), -1);
  CHECK_EQ(errno, EINVAL);
  CHECK_EQ(cr_hold_ctrl(CR_HOLD_SCOPE_THREAD, 9), -1);
  CHECK_EQ(errno, EINVAL);

  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, fresh_thread, NULL), 0);
  CHECK_EQ(pthread_join(th, NULL), 0);

  /* fork(): the child's libcr state is gone; it starts over with cr_init(). */
  CHECK_EQ(cr_enter_cs(0), 0);
  pid_t pid = fork();
  if (pid == 0) {
    if (cr_status() != -1 || errno != CR_ENOINIT) _exit(11);
    if (cr_init() != 0) _exit(12);
    if (cr_register_callback(cb, NULL, CR_SIGNAL_CONTEXT) != CR_SIGNAL_CONTEXT) _exit(13);
    if (cr_register_callback(cb, NULL, CR_THREAD_CONTEXT) != CR_THREAD_CONTEXT) _exit(14);
    /* no critical section was inherited: a checkpoint of the child runs at once */
    if (run_driver("--expect-decision 0") != 0) _exit(15);
    _exit(0);
  }
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
  CHECK_EQ(cr_leave_cs(0), 0);
  printf("ok\n");
  return 0;
}
