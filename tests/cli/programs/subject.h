// Shared by the tests/cli subject programs (big_mem, hold_file, spin_print):
// output with write(2) only, sleeping, and counting SIGUSR1 deliveries for the
// main loop to act on.
#ifndef CREST_CLI_SUBJECT_H
#define CREST_CLI_SUBJECT_H

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// SIGUSR1 deliveries so far (after catch_usr1()), and those acted on.
static volatile sig_atomic_t usr1_count;
static sig_atomic_t usr1_seen;

static void on_usr1(int sig) {
  (void)sig;
  usr1_count++;
}

// Counts SIGUSR1 in usr1_count; interrupted system calls are restarted.
static inline void catch_usr1(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
}

// True once for each SIGUSR1 delivery not acted on yet: the main loop does
// `while (usr1_pending()) act();`.
static inline int usr1_pending(void) {
  if (usr1_seen == usr1_count) return 0;
  usr1_seen++;
  return 1;
}

// Writes all of buf to stdout (EINTR retried); exits 3 on an error.
static inline void write_all(const char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(STDOUT_FILENO, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      _exit(3);
    }
    buf += n;
    len -= (size_t)n;
  }
}

// Sleeps ms milliseconds, however often a signal interrupts it.
static inline void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

#endif
