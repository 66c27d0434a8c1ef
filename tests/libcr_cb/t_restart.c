/* The restart path as libcr sees it: a Result with a positive value (the restorer's pid)
 * is what every level of cr_checkpoint() returns in every thread, cr_get_restart_info()
 * reports it and the source path inside callbacks after cr_checkpoint() (NULL before
 * and outside), and the CR_HOOK_RSTRT_* hooks run instead of the CONT ones. */
#include "cbtest.h"

static struct cb_log log_;
static volatile int bad;
static int rstrt_signal, rstrt_thread, cont_hooks;

static int cb(void *arg) {
  const char *name = arg;
  if (cr_get_restart_info() != NULL) bad |= 1;
  int rc = cr_checkpoint(0);
  const struct cr_restart_info *ri = cr_get_restart_info();
  if (!ri || ri->requester != 31337 || strcmp(ri->src, "/img/ctx.31337") != 0) bad |= 2;
  char s[32];
  snprintf(s, sizeof s, "%s=%d", name, rc);
  log_add(&log_, s);
  return 0;
}

static void hook(cr_hook_event_t ev) {
  if (ev == CR_HOOK_RSTRT_SIGNAL_CONTEXT) rstrt_signal++;
  else if (ev == CR_HOOK_RSTRT_THREAD_CONTEXT) rstrt_thread++;
  else cont_hooks++;
}

int main(void) {
  CHECK_EQ(cr_init(), 0);
  CHECK(cr_register_callback(cb, "t", CR_THREAD_CONTEXT) >= 0);
  CHECK(cr_register_callback(cb, "s0", CR_SIGNAL_CONTEXT) >= 0);
  CHECK(cr_register_callback(cb, "s1", CR_SIGNAL_CONTEXT) >= 0);
  for (int ev = 0; ev < CR_NUM_HOOKS; ++ev) cr_register_hook((cr_hook_event_t)ev, hook);
  CHECK_EQ(run_driver("--value 31337 --src /img/ctx.31337 --expect-decision 0"), 0);
  /* The thread-context "after" code may finish in any order relative to the signal-context
   * one, but the signal-context levels unwind oldest first. */
  const char *l = log_str(&log_);
  const char *s0 = strstr(l, "s0=31337"), *s1 = strstr(l, "s1=31337");
  CHECK(s0 && s1 && s0 < s1);
  CHECK(strstr(l, "t=31337") != NULL);
  CHECK_EQ(bad, 0);
  CHECK_EQ(rstrt_signal, 1);
  CHECK_EQ(rstrt_thread, 1);
  CHECK_EQ(cont_hooks, 0);
  CHECK(cr_get_restart_info() == NULL);
  CHECK_EQ(cr_status(), CR_STATE_IDLE);
  printf("ok\n");
  return 0;
}
