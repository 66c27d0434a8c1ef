// mapped_files PRIVATE_FILE SHARED_FILE TICKS
//
// Test subject for --save-*: maps PRIVATE_FILE with MAP_PRIVATE (read-only) and
// SHARED_FILE with MAP_SHARED (read-write), closes both descriptors, prints "mapped",
// then TICKS times every 30 ms: writes the tick number into the shared mapping and
// prints "tick N <first line of the private mapping> <first line of the shared
// mapping> <checksum of the program's own text>". Exits with status 40 + TICKS % 50.
// The output depends only on the mappings' contents, so a run checkpointed and
// restarted after the files were deleted prints exactly what an uninterrupted run does.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "subject.h"

static const char* map_file(const char* path, int flags, int prot) {
  int fd = open(path, (prot & PROT_WRITE) ? O_RDWR : O_RDONLY);
  if (fd < 0) _exit(4);
  void* p = mmap(NULL, 4096, prot, flags, fd, 0);
  if (p == MAP_FAILED) _exit(5);
  close(fd);
  return p;
}

static unsigned text_sum(void) {
  // A few hundred bytes of our own code, read through the executable's mapping.
  const unsigned char* at = (const unsigned char*)&text_sum;
  unsigned sum = 0;
  for (int i = 0; i < 256; ++i) sum = sum * 31 + at[i];
  return sum;
}

static int first_line_len(const char* s) {
  int n = 0;
  while (n < 64 && s[n] && s[n] != '\n') ++n;
  return n;
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const char* priv = map_file(argv[1], MAP_PRIVATE, PROT_READ);
  char* shared = (char*)map_file(argv[2], MAP_SHARED, PROT_READ | PROT_WRITE);
  int ticks = atoi(argv[3]);
  write_all("mapped\n", 7);
  for (int i = 1; i <= ticks; ++i) {
    snprintf(shared, 32, "shared-%03d\n", i);
    char line[256];
    int n = snprintf(line, sizeof line, "tick %d %.*s %.*s %u\n", i, first_line_len(priv), priv, first_line_len(shared),
                     shared, text_sum());
    write_all(line, (size_t)n);
    sleep_ms(30);
  }
  return 40 + ticks % 50;
}
