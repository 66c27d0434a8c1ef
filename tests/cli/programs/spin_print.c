// spin_print [N [INTERVAL_MS]]
//
// Test subject for tests/cli: writes an incrementing decimal counter, one
// number per line, to fd 1 with write(2) every INTERVAL_MS (default 50) ms.
// With N > 0 it exits 0 after printing 0..N-1; without N (or N == 0) it runs
// forever.  SIGUSR1 is caught: for each delivery the main loop prints a line
// "usr1" before the next number.  SIGTERM/SIGKILL keep their default action.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "subject.h"

int main(int argc, char** argv) {
  long limit = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
  long interval = argc > 2 ? strtol(argv[2], NULL, 10) : 50;
  if (interval <= 0) interval = 50;

  catch_usr1();

  for (unsigned long counter = 0;; counter++) {
    if (limit > 0 && counter >= (unsigned long)limit) return 0;
    while (usr1_pending()) {
      write_all("usr1\n", 5);
    }
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%lu\n", counter);
    write_all(buf, (size_t)len);
    sleep_ms(interval);
  }
}
