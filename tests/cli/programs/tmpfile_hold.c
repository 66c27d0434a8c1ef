// tmpfile_hold DIR
//
// Test subject for tests/cli: holds an O_TMPFILE file (never linked: no name at all)
// created in DIR, with "payload-<pid>\n" written at offset 0 and the offset left at its
// end; every 50 ms prints "tick N <contents read with pread at 0>" and, on SIGUSR1,
// appends "+" through the shared offset and prints "appended".
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "subject.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int fd = open(argv[1], O_TMPFILE | O_RDWR, 0600);
  if (fd < 0) return 3;
  char payload[64];
  int n = snprintf(payload, sizeof payload, "payload-%d", (int)getpid());
  if (write(fd, payload, (size_t)n) != n) return 4;
  catch_usr1();
  for (unsigned long tick = 0;; tick++) {
    while (usr1_pending()) {
      if (write(fd, "+", 1) != 1) return 5;
      write_all("appended\n", 9);
    }
    char buf[128];
    ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
    if (got < 0) return 6;
    buf[got] = 0;
    char line[192];
    int len = snprintf(line, sizeof line, "tick %lu %s\n", tick, buf);
    write_all(line, (size_t)len);
    sleep_ms(50);
  }
}
