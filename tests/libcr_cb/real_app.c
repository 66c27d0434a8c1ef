/* A program with callbacks for the tests with the real tools (run_real.py):
 *   real_app MODE EVENTS_FILE CONTEXT_PATH LINES
 * prints "line I" for I in [0, LINES) every 20 ms, then "sum=S" (a running checksum of
 * its memory) and exits 7. A thread-context callback and two signal-context callbacks
 * append what they see to EVENTS_FILE (O_APPEND, so a restarted copy adds to it).
 * CONTEXT_PATH is unused (kept for the command line's shape).
 * MODE: ready | temp | perm | omit | cs (lines 3..12 inside a critical section) |
 * forward (a child process that only sleeps is added to the checkpoint with
 * cr_forward_checkpoint(CR_SCOPE_PROC, child) from the thread-context callback; at the
 * end the program kills and reaps it, and exits 8 if it cannot) | slow (the thread-context
 * callback sleeps 2 s before its cr_checkpoint()). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libcr.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int events = -1;
static const char *mode;
static volatile int cur = -1;
static pid_t child = -1;

static void ev(const char *fmt, long a) {
  char buf[160];
  int n = snprintf(buf, sizeof buf, fmt, a);
  if (write(events, buf, (size_t)n) != n) _exit(90);
}

static void ev_str(const char *s) {
  size_t n = strlen(s);
  if (write(events, s, n) != (ssize_t)n) _exit(90);
}

static int flags_for_mode(void) {
  if (!strcmp(mode, "temp")) return CR_CHECKPOINT_TEMP_FAILURE;
  if (!strcmp(mode, "perm")) return CR_CHECKPOINT_PERM_FAILURE;
  if (!strcmp(mode, "omit")) return CR_CHECKPOINT_OMIT;
  return CR_CHECKPOINT_READY;
}

static void after(const char *who, int rc) {
  char buf[64];
  if (rc == 0) {
    snprintf(buf, sizeof buf, "%s continue\n", who);
    ev_str(buf);
  } else if (rc > 0) {
    const struct cr_restart_info *ri = cr_get_restart_info();
    int ok = rc == getppid() && ri && ri->requester == rc;
    snprintf(buf, sizeof buf, "%s restart %s\n", who, ok ? "ok" : "bad");
    ev_str(buf);
    if (ri && who[0] == 'T') {
      char line[300];
      snprintf(line, sizeof line, "T src=%s\n", ri->src);
      ev_str(line);
    }
  } else {
    snprintf(buf, sizeof buf, "%s failed %d\n", who, rc);
    ev_str(buf);
  }
}

static int thread_cb(void *arg) {
  (void)arg;
  const struct cr_checkpoint_info *info = cr_get_checkpoint_info();
  ev("T before at=%ld\n", cur);
  if (child > 0) ev("T forward %ld\n", cr_forward_checkpoint(CR_SCOPE_PROC, child) == 0 ? 0 : errno);
  if (!strcmp(mode, "slow")) sleep(2);
  if (!info) ev("T no info\n", 0);
  else {
    char buf[256];
    snprintf(buf, sizeof buf, "T dest=%s scope=%d\n", info->dest, (int)info->scope);
    ev_str(buf);
  }
  int rc = cr_checkpoint(0);
  after("T", rc);
  return 0;
}

static int signal_cb(void *arg) {
  long n = (long)arg;
  char fmt[32];
  snprintf(fmt, sizeof fmt, "S%ld before at=%%ld\n", n);
  ev(fmt, cur);
  int rc = cr_checkpoint(n == 0 ? flags_for_mode() : 0);
  snprintf(fmt, sizeof fmt, "S%ld", n);
  after(fmt, rc);
  return 0;
}

static void hook(cr_hook_event_t e) { ev("hook %ld\n", (long)e); }

/* A second cr_init() thread with its own signal-context callback: phase 2 must reach it
 * (also after a restart that gave it a new thread id). */
static int worker_cb(void *arg) {
  (void)arg;
  ev("W before\n", 0);
  int rc = cr_checkpoint(0);
  after("W", rc);
  return 0;
}

static volatile int worker_ready;
static void *worker(void *arg) {
  (void)arg;
  cr_init();
  cr_register_callback(worker_cb, NULL, CR_SIGNAL_CONTEXT);
  worker_ready = 1;
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  mode = argv[1];
  int lines = atoi(argv[4]);
  events = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (events < 0) return 3;
  if (!strcmp(mode, "forward")) {
    child = fork();
    if (child == 0) {
      for (;;) pause();
    }
    if (child < 0) return 9;
  }
  if (cr_init() != 0) return 4;
  if (cr_register_callback(thread_cb, NULL, CR_THREAD_CONTEXT) < 0) return 5;
  if (cr_register_callback(signal_cb, (void *)0, CR_SIGNAL_CONTEXT) < 0) return 5;
  if (cr_register_callback(signal_cb, (void *)1, CR_SIGNAL_CONTEXT) < 0) return 5;
  for (int e = 0; e < CR_NUM_HOOKS; ++e) cr_register_hook((cr_hook_event_t)e, hook);
  pthread_t th;
  if (pthread_create(&th, NULL, worker, NULL) != 0) return 6;
  while (!worker_ready) usleep(1000);
  static unsigned long mem[4096];
  unsigned long sum = 0;
  for (int i = 0; i < lines; ++i) {
    if (!strcmp(mode, "cs") && i == 3) {
      cr_enter_cs(0);
      ev("enter\n", 0);
    }
    cur = i;
    mem[(i * 37) % 4096] += (unsigned long)i * 2654435761u;
    for (int k = 0; k < 4096; k += 7) sum = sum * 31 + mem[k];
    printf("line %d\n", i);
    fflush(stdout);
    struct timespec ts = {0, 20 * 1000 * 1000};
    while (nanosleep(&ts, &ts) != 0) {
    }
    if (!strcmp(mode, "cs") && i == 12) {
      ev("leave at=%ld\n", i);
      cr_leave_cs(0);
    }
  }
  printf("sum=%lu\n", sum);
  if (child > 0) {
    int status;
    if (kill(child, SIGTERM) != 0 || waitpid(child, &status, 0) != child) return 8;
    ev("child reaped\n", 0);
  }
  return 7;
}
