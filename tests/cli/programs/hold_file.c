// hold_file PATH
//
// Test subject for tests/cli: opens PATH read-only (it stays open as fd 3),
// prints "opened", then prints "tick N" every 100 ms.  On each SIGUSR1 it
// reads one line from PATH with read(2), byte by byte (so the position lives
// in the kernel file offset, not in a user-space buffer) and prints
// "line: TEXT" (or "line: <eof>" / "line: <error ERRNO>").
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

static void read_line(int fd) {
  char line[512];
  size_t len = 0;
  for (;;) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      char buf[64];
      int l = snprintf(buf, sizeof buf, "line: <error %d>\n", errno);
      write_all(buf, (size_t)l);
      return;
    }
    if (n == 0) {
      if (len == 0) {
        write_all("line: <eof>\n", 12);
        return;
      }
      break;
    }
    if (c == '\n') break;
    if (len < sizeof line - 1) line[len++] = c;
  }
  line[len] = '\0';
  char buf[600];
  int l = snprintf(buf, sizeof buf, "line: %s\n", line);
  write_all(buf, (size_t)l);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: hold_file PATH\n");
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);

  write_all("opened\n", 7);
  sig_atomic_t usr1_seen = 0;
  for (unsigned long tick = 0;; tick++) {
    while (usr1_seen != usr1_count) {
      usr1_seen++;
      read_line(fd);
    }
    char buf[48];
    int l = snprintf(buf, sizeof buf, "tick %lu\n", tick);
    write_all(buf, (size_t)l);
    sleep_ms(100);
  }
}
