/* cr_replace_callback() and cr_replace_self() (BLCR-API.md 1.7; after BLCR's replace_cb):
 * a replacement keeps the slot's place in the order, NULL disables a slot, a replacement
 * made by a callback after its cr_checkpoint() beats the one made before, and the error
 * cases. */
#include "cbtest.h"

static struct cb_log log_;

static int named(void *arg) {
  log_add(&log_, (const char *)arg);
  cr_checkpoint(0);
  return 0;
}

static int self_replacing(void *arg) {
  (void)arg;
  log_add(&log_, "R");
  if (cr_replace_self(named, "before", CR_SIGNAL_CONTEXT) != 0) log_add(&log_, "err1");
  if (cr_replace_self(named, "x", CR_THREAD_CONTEXT) != -1 || errno != EINVAL) log_add(&log_, "err2");
  if (cr_replace_callback(0 | CR_SIGNAL_CONTEXT, named, "y", CR_SIGNAL_CONTEXT) != -1 || errno != EBUSY)
    log_add(&log_, "err3");
  cr_checkpoint(0);
  if (cr_replace_self(named, "after", CR_SIGNAL_CONTEXT) != 0) log_add(&log_, "err4");
  return 0;
}

int main(void) {
  CHECK_EQ(cr_init(), 0);
  int a = cr_register_callback(named, "A", CR_SIGNAL_CONTEXT);
  int b = cr_register_callback(named, "B", CR_SIGNAL_CONTEXT);
  int c = cr_register_callback(self_replacing, NULL, CR_SIGNAL_CONTEXT);
  CHECK_EQ(a, CR_SIGNAL_CONTEXT | 0);
  CHECK_EQ(b, CR_SIGNAL_CONTEXT | 1);
  CHECK_EQ(c, CR_SIGNAL_CONTEXT | 2);

  CHECK_EQ(cr_replace_callback(a, named, "A2", CR_SIGNAL_CONTEXT), 0);
  CHECK_EQ(cr_replace_callback(b, NULL, NULL, CR_SIGNAL_CONTEXT), 0);
  CHECK_EQ(run_driver(NULL), 0);
  CHECK_STR(log_str(&log_), "R A2");

  log_clear(&log_);
  CHECK_EQ(run_driver(NULL), 0);
  CHECK_STR(log_str(&log_), "after A2");

  /* Errors. */
  CHECK_EQ(cr_replace_callback(-1, named, "z", CR_SIGNAL_CONTEXT), -1);
  CHECK_EQ(errno, EINVAL);
  CHECK_EQ(cr_replace_callback(CR_SIGNAL_CONTEXT | 3, named, "z", CR_SIGNAL_CONTEXT), -1);
  CHECK_EQ(errno, EINVAL);
  CHECK_EQ(cr_replace_callback(a, named, "z", CR_THREAD_CONTEXT), -1);
  CHECK_EQ(errno, EINVAL);
  CHECK_EQ(cr_replace_callback(CR_THREAD_CONTEXT | 0, named, "z", CR_THREAD_CONTEXT), -1);
  CHECK_EQ(errno, EINVAL);
  CHECK_EQ(cr_replace_self(named, "z", CR_SIGNAL_CONTEXT), -1);
  CHECK_EQ(errno, CR_ENOTCB);
  printf("ok\n");
  return 0;
}
