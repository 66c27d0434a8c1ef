// big_mem MIB [INTERVAL_MS]
//
// Test subject for tests/cli: maps MIB MiB of private anonymous memory and
// fills every byte with a pseudo-random (incompressible, non-zero) pattern,
// prints "ready", then prints an incrementing counter every INTERVAL_MS
// (default 100) ms.  On SIGUSR1 it re-verifies the whole pattern and prints
// "verify ok" or "verify bad at OFFSET".
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "subject.h"

static void say(const char* fmt, unsigned long v) {
  char buf[64];
  int len = snprintf(buf, sizeof buf, fmt, v);
  write_all(buf, (size_t)len);
}

static uint64_t next(uint64_t* s) {  // xorshift64*
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: big_mem MIB [INTERVAL_MS]\n");
    return 2;
  }
  size_t mib = strtoul(argv[1], NULL, 10);
  long interval = argc > 2 ? strtol(argv[2], NULL, 10) : 100;
  if (interval <= 0) interval = 100;
  size_t words = (mib << 20) / sizeof(uint64_t);

  uint64_t* mem = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  uint64_t seed = 0x9E3779B97F4A7C15ULL;
  for (size_t i = 0; i < words; i++) mem[i] = next(&seed) | 1;

  catch_usr1();

  write_all("ready\n", 6);
  for (unsigned long counter = 0;; counter++) {
    while (usr1_pending()) {
      uint64_t s = 0x9E3779B97F4A7C15ULL;
      size_t bad = words;
      for (size_t i = 0; i < words; i++) {
        if (mem[i] != (next(&s) | 1)) {
          bad = i;
          break;
        }
      }
      if (bad == words)
        write_all("verify ok\n", 10);
      else
        say("verify bad at %lu\n", (unsigned long)(bad * sizeof(uint64_t)));
    }
    say("%lu\n", counter);
    sleep_ms(interval);
  }
}
