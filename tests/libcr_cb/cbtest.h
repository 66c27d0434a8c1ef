/* Helpers for libcr's callback tests: an async-signal-safe event log, CHECK macros, and
 * running libcr_cb_driver (the stand-in dumper, driver.cc) against this process. */
#ifndef CBTEST_H
#define CBTEST_H

#define _GNU_SOURCE
#include <errno.h>
#include <libcr.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CB_DRIVER
#error "CB_DRIVER must name libcr_cb_driver"
#endif

#define CHECK(c)                                                                  \
  do {                                                                            \
    if (!(c)) {                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);       \
      fflush(stderr);                                                             \
      _exit(1);                                                                   \
    }                                                                             \
  } while (0)

#define CHECK_EQ(a, b)                                                            \
  do {                                                                            \
    long long va_ = (long long)(a), vb_ = (long long)(b);                         \
    if (va_ != vb_) {                                                             \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", __FILE__, \
              __LINE__, #a, va_, #b, vb_);                                        \
      fflush(stderr);                                                             \
      _exit(1);                                                                   \
    }                                                                             \
  } while (0)

#define CHECK_STR(a, b)                                                           \
  do {                                                                            \
    const char *sa_ = (a), *sb_ = (b);                                            \
    if (!sa_ || strcmp(sa_, sb_) != 0) {                                          \
      fprintf(stderr, "%s:%d: CHECK_STR failed: %s = \"%s\", expected \"%s\"\n",  \
              __FILE__, __LINE__, #a, sa_ ? sa_ : "(null)", sb_);                 \
      fflush(stderr);                                                             \
      _exit(1);                                                                   \
    }                                                                             \
  } while (0)

/* An event log that callbacks in signal context may append to. */
struct cb_log {
  char buf[4096];
  int len;
};

static inline void log_add(struct cb_log *l, const char *s) {
  int n = (int)strlen(s);
  int at = __atomic_fetch_add(&l->len, n + 1, __ATOMIC_SEQ_CST);
  if (at + n + 1 >= (int)sizeof l->buf) return;
  memcpy(l->buf + at, s, (size_t)n);
  l->buf[at + n] = ' ';
}

/* The log as a string without the trailing blank. */
static inline const char *log_str(struct cb_log *l) {
  int n = __atomic_load_n(&l->len, __ATOMIC_SEQ_CST);
  if (n > 0 && n < (int)sizeof l->buf) l->buf[n - 1] = '\0';
  return l->buf;
}

static inline void log_clear(struct cb_log *l) {
  memset(l->buf, 0, sizeof l->buf);
  __atomic_store_n(&l->len, 0, __ATOMIC_SEQ_CST);
}

static inline pid_t cb_gettid(void) { return (pid_t)syscall(SYS_gettid); }

static inline long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The process the driver signals (0: this one). */
static pid_t cb_driver_target;

/* Starts the driver against this process (or cb_driver_target) with the blank-separated extra arguments;
 * its stdout goes to *out_fd when out_fd is not NULL. Returns its pid. */
static inline pid_t spawn_driver(const char *args, int *out_fd) {
  static char copy[1024];
  char *argv[64];
  int argc = 0;
  char pidbuf[32];
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)(cb_driver_target ? cb_driver_target : getpid()));
  argv[argc++] = (char *)CB_DRIVER;
  argv[argc++] = (char *)"--pid";
  argv[argc++] = pidbuf;
  snprintf(copy, sizeof copy, "%s", args ? args : "");
  for (char *tok = strtok(copy, " "); tok && argc < 62; tok = strtok(NULL, " ")) argv[argc++] = tok;
  argv[argc] = NULL;
  int p[2] = {-1, -1};
  if (out_fd && pipe(p) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    if (out_fd) {
      dup2(p[1], 1);
      close(p[0]);
      close(p[1]);
    }
    execv(CB_DRIVER, argv);
    _exit(127);
  }
  if (out_fd) {
    close(p[1]);
    *out_fd = p[0];
  }
  return pid;
}

/* Waits for a driver; returns its exit status (100 + signal if killed). */
static inline int wait_driver(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static inline int run_driver(const char *args) { return wait_driver(spawn_driver(args, NULL)); }

/* Runs the driver and collects its stdout into out (NUL-terminated). */
static inline int run_driver_output(const char *args, char *out, size_t size) {
  int fd = -1;
  pid_t pid = spawn_driver(args, &fd);
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, out + got, size - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  out[got] = '\0';
  close(fd);
  return wait_driver(pid);
}

static inline void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

#endif
