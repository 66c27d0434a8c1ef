/* Critical sections (BLCR-API.md 1.8, 2.2, 2.4; after BLCR's cs_* and stage0001): a
 * checkpoint that arrives inside a section is PENDING until the outermost cr_leave_cs(),
 * which runs it before returning; nested sections and cr_tryenter_cs() while pending; a
 * thread in a section delays every callback until it leaves; an excess leave aborts with
 * BLCR's message. */
#include <pthread.h>
#include "cbtest.h"

static struct cb_log log_;
static volatile int phase;
static pid_t main_tid;

static int main_cb(void *arg) {
  (void)arg;
  log_add(&log_, "main-cb");
  int rc = cr_checkpoint(0);
  log_add(&log_, rc == 0 ? "main-after" : "main-bad");
  return 0;
}

static int worker_cb(void *arg) {
  (void)arg;
  log_add(&log_, "worker-cb");
  cr_checkpoint(0);
  return 0;
}

static int worker_try_result = -2, worker_in_cs;
static void *worker(void *arg) {
  (void)arg;
  cr_init();
  cr_register_callback(worker_cb, NULL, CR_SIGNAL_CONTEXT);
  while (phase != 1) sleep_ms(2);
  worker_try_result = cr_tryenter_cs(0); /* main is in a section with a checkpoint pending */
  phase = 2;
  while (phase != 3) sleep_ms(2);
  /* Part 2: the worker holds a section while the checkpoint comes. */
  CHECK_EQ(cr_enter_cs(0), 0);
  __atomic_store_n(&worker_in_cs, 1, __ATOMIC_SEQ_CST);
  sleep_ms(400);
  log_add(&log_, "worker-leave");
  CHECK_EQ(cr_leave_cs(0), 0);
  return NULL;
}

static void excess_leave_aborts(void) {
  int p[2];
  CHECK_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 2);
    cr_init();
    cr_enter_cs(0);
    cr_leave_cs(0);
    cr_leave_cs(0);
    _exit(0);
  }
  close(p[1]);
  char buf[256] = {0};
  size_t got = 0;
  ssize_t n;
  while ((n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
  close(p[0]);
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  CHECK(strstr(buf, "STATE ERROR. Probably an excess call to cr_leave_cs()") != NULL);
}

int main(void) {
  main_tid = cb_gettid();
  CHECK_EQ(cr_init(), 0);
  CHECK(cr_register_callback(main_cb, NULL, CR_SIGNAL_CONTEXT) >= 0);
  pthread_t th;
  CHECK_EQ(pthread_create(&th, NULL, worker, NULL), 0);

  /* Part 1: the request reaches this thread inside a (nested) section. */
  CHECK_EQ(cr_enter_cs(0), 0);
  CHECK_EQ(cr_enter_cs(0), 0);
  char args[64];
  snprintf(args, sizeof args, "--tid %d --expect-decision 0", (int)main_tid);
  pid_t d = spawn_driver(args, NULL);
  long long start = now_ms();
  while (cr_status() != CR_STATE_PENDING && now_ms() - start < 5000) sleep_ms(5);
  CHECK_EQ(cr_status(), CR_STATE_PENDING);
  sleep_ms(100);
  CHECK_STR(log_str(&log_), "");
  phase = 1;
  while (phase != 2) sleep_ms(2);
  CHECK_EQ(worker_try_result, 1);
  CHECK_EQ(cr_leave_cs(0), 0); /* inner: nothing happens */
  CHECK_STR(log_str(&log_), "");
  CHECK_EQ(cr_status(), CR_STATE_PENDING);
  log_add(&log_, "leave");
  CHECK_EQ(cr_leave_cs(0), 0); /* outermost: the checkpoint runs before it returns */
  CHECK_EQ(cr_status(), CR_STATE_IDLE);
  const char *l = log_str(&log_);
  /* the worker's callback runs concurrently with this thread's */
  if (!(strncmp(l, "leave ", 6) == 0 && strstr(l, "main-cb") && strstr(l, "main-after") && strstr(l, "worker-cb")))
    fprintf(stderr, "log: %s\n", l);
  CHECK(strncmp(l, "leave ", 6) == 0 && strstr(l, "main-cb") && strstr(l, "main-after") && strstr(l, "worker-cb"));
  CHECK_EQ(wait_driver(d), 0);

  /* Part 2: the worker is inside a section when the checkpoint comes; every callback
   * (the worker's and this thread's) waits until it leaves. */
  log_clear(&log_);
  phase = 3;
  while (!__atomic_load_n(&worker_in_cs, __ATOMIC_SEQ_CST)) sleep_ms(2);
  CHECK_EQ(run_driver("--expect-decision 0"), 0);
  l = log_str(&log_);
  CHECK(strncmp(l, "worker-leave", 12) == 0);
  CHECK(strstr(l, "worker-cb") && strstr(l, "main-cb"));
  pthread_join(th, NULL);
  CHECK_EQ(cr_status(), CR_STATE_IDLE);

  excess_leave_aborts();
  printf("ok\n");
  return 0;
}
