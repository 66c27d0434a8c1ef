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
#include <stdio.h>
#include <unistd.h>

#include "subject.h"

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

  catch_usr1();

  write_all("opened\n", 7);
  for (unsigned long tick = 0;; tick++) {
    while (usr1_pending()) {
      read_line(fd);
    }
    char buf[48];
    int l = snprintf(buf, sizeof buf, "tick %lu\n", tick);
    write_all(buf, (size_t)l);
    sleep_ms(100);
  }
}
