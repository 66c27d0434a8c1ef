// spin_print [N [INTERVAL_MS]]
//
// Test subject for tests/cli: writes an incrementing decimal counter, one
// number per line, to fd 1 with write(2) every INTERVAL_MS (default 50) ms.
// With N > 0 it exits 0 after printing 0..N-1; without N (or N == 0) it runs
// forever.  SIGUSR1 is caught: for each delivery the main loop prints a line
// "usr1" before the next number.  SIGTERM/SIGKILL keep their default action.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_count;

static void on_usr1(int sig) {
  (void)sig;
  usr1_count++;
}

static void write_all(const char* buf, size_t len) {
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

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int main(int argc, char** argv) {
  long limit = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
  long interval = argc > 2 ? strtol(argv[2], NULL, 10) : 50;
  if (interval <= 0) interval = 50;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);

  sig_atomic_t usr1_seen = 0;
  for (unsigned long counter = 0;; counter++) {
    if (limit > 0 && counter >= (unsigned long)limit) return 0;
    while (usr1_seen != usr1_count) {
      usr1_seen++;
      write_all("usr1\n", 5);
    }
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%lu\n", counter);
    write_all(buf, (size_t)len);
    sleep_ms(interval);
  }
}
