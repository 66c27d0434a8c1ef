/* Order and nesting of callbacks (BLCR-API.md 2.1, 2.2, 2.4; after BLCR's replace_cb and
 * stage0001-0004): every thread-context callback reaches cr_checkpoint() before any
 * signal-context callback starts; within a context newest first, "after" code oldest
 * first; every level sees the same value; cr_get_checkpoint_info() only before
 * cr_checkpoint(); cr_status() ACTIVE in callbacks and IDLE afterwards; the hooks of each
 * kind of thread; a second checkpoint works the same. */
#include "cbtest.h"

static struct cb_log sig_log, thr_log;
static int seq, t_before_last, s_before_first = 1 << 30;
static volatile int bad;
static pid_t main_tid, cont_signal_hook_tid, cont_thread_hook_tid;
static int cont_signal_hooks, cont_thread_hooks, other_hooks;

static void check_info(void) {
  const struct cr_checkpoint_info *info = cr_get_checkpoint_info();
  if (!info) { bad |= 1; return; }
  if (info->requester != 4242 || info->target != 77 || info->scope != CR_SCOPE_TREE ||
      info->signal != 15 || strcmp(info->dest, "/some/where/ctx") != 0)
    bad |= 2;
}

static int thread_cb(void *arg) {
  int n = (int)(long)arg;
  char s[16];
  snprintf(s, sizeof s, "T%db", n);
  log_add(&thr_log, s);
  t_before_last = __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
  check_info();
  if (cb_gettid() == main_tid) bad |= 4;
  if (cr_register_callback(thread_cb, NULL, CR_THREAD_CONTEXT) != -1 || errno != EBUSY) bad |= 8;
  int rc = cr_checkpoint(CR_CHECKPOINT_READY);
  if (cr_get_checkpoint_info() != NULL) bad |= 16;
  if (cr_get_restart_info() != NULL) bad |= 32;
  snprintf(s, sizeof s, "T%da%d", n, rc);
  log_add(&thr_log, s);
  return 0;
}

static int signal_cb(void *arg) {
  int n = (int)(long)arg;
  char s[16];
  snprintf(s, sizeof s, "S%db", n);
  log_add(&sig_log, s);
  int at = __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
  if (at < s_before_first) s_before_first = at;
  check_info();
  if (cb_gettid() != main_tid) bad |= 64;
  if (cr_status() != CR_STATE_ACTIVE) bad |= 128;
  int rc = cr_checkpoint(CR_CHECKPOINT_READY);
  if (cr_get_checkpoint_info() != NULL) bad |= 256;
  snprintf(s, sizeof s, "S%da%d", n, rc);
  log_add(&sig_log, s);
  return 0;
}

/* Returns without calling cr_checkpoint(): as if it had called it on return. */
static int silent_cb(void *arg) {
  (void)arg;
  log_add(&sig_log, "Q");
  return 0;
}

static void hook(cr_hook_event_t ev) {
  if (ev == CR_HOOK_CONT_SIGNAL_CONTEXT) { cont_signal_hooks++; cont_signal_hook_tid = cb_gettid(); }
  else if (ev == CR_HOOK_CONT_THREAD_CONTEXT) { cont_thread_hooks++; cont_thread_hook_tid = cb_gettid(); }
  else other_hooks++;
}

/* The driver's Request carries signal 15: libcr raises it on the continue path before
 * any thread leaves its handler (issue 13, behaviour 3), once per round. */
static volatile sig_atomic_t sigterms;
static void on_sigterm(int sig) { (void)sig; sigterms++; }

int main(void) {
  main_tid = cb_gettid();
  signal(SIGTERM, on_sigterm);
  CHECK_EQ(cr_init(), 0);
  CHECK_EQ(cr_register_callback(thread_cb, (void *)0, CR_THREAD_CONTEXT), CR_THREAD_CONTEXT | 0);
  CHECK_EQ(cr_register_callback(thread_cb, (void *)1, CR_THREAD_CONTEXT), CR_THREAD_CONTEXT | 1);
  CHECK_EQ(cr_register_callback(signal_cb, (void *)0, CR_SIGNAL_CONTEXT), CR_SIGNAL_CONTEXT | 0);
  CHECK_EQ(cr_register_callback(silent_cb, NULL, CR_SIGNAL_CONTEXT), CR_SIGNAL_CONTEXT | 1);
  CHECK_EQ(cr_register_callback(signal_cb, (void *)2, CR_SIGNAL_CONTEXT), CR_SIGNAL_CONTEXT | 2);
  for (int ev = 0; ev < CR_NUM_HOOKS; ++ev) CHECK(cr_register_hook((cr_hook_event_t)ev, hook) == NULL);

  for (int round = 1; round <= 2; ++round) {
    log_clear(&sig_log);
    log_clear(&thr_log);
    cont_signal_hooks = cont_thread_hooks = other_hooks = 0;
    s_before_first = 1 << 30;
    CHECK_EQ(cr_status(), CR_STATE_IDLE);
    CHECK_EQ(run_driver("--expect-lib 0 --expect-decision 0 --requester 4242 --target 77 "
                        "--scope 3 --signal 15 --dest /some/where/ctx"), 0);
    CHECK_STR(log_str(&thr_log), "T1b T0b T0a0 T1a0");
    CHECK_STR(log_str(&sig_log), "S2b Q S0b S0a0 S2a0");
    CHECK(t_before_last < s_before_first);
    CHECK_EQ(bad, 0);
    CHECK_EQ(cont_signal_hooks, 1);
    CHECK_EQ(cont_signal_hook_tid, main_tid);
    CHECK_EQ(cont_thread_hooks, 1);
    CHECK(cont_thread_hook_tid != main_tid);
    CHECK_EQ(other_hooks, 0);
    CHECK_EQ(sigterms, round);
    CHECK_EQ(cr_status(), CR_STATE_IDLE);
  }
  printf("ok\n");
  return 0;
}
