/* The process request_other.c checkpoints: an ordinary program (not linked with libcr).
   It fills 32 MiB with pseudo-random words, prints ten steps of a running sum over them,
   prints "waiting" and waits until the file argv[1] exists, then prints ten more steps
   and "done". With a second argument "thread" it first starts a thread that only sleeps
   and prints "thread TID". Its output depends on its memory, so a restart from an image taken while it
   waits prints exactly what the original prints after "waiting". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile pid_t thread_tid;

static void *sleeper(void *arg) {
  (void)arg;
  thread_tid = gettid();
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: request_subject GO_FILE [thread]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3) {
    pthread_t t;
    if (pthread_create(&t, NULL, sleeper, NULL) != 0) return 4;
    while (!thread_tid) usleep(1000);
    printf("thread %d\n", (int)thread_tid);
  }
  const size_t words = (32u << 20) / sizeof(uint64_t);
  uint64_t *mem = malloc(words * sizeof *mem);
  if (!mem) return 3;
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < words; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    mem[i] = x;
  }
  uint64_t sum = 0;
  size_t at = 0;
  for (int step = 0; step < 20; ++step) {
    if (step == 10) {
      printf("waiting\n");
      while (access(argv[1], F_OK) != 0) usleep(5000);
    }
    for (int k = 0; k < 4096; ++k, at = (at * 2862933555777941757ull + 3037000493ull) % words)
      sum = sum * 31 + mem[at];
    printf("step %d sum %llu\n", step, (unsigned long long)sum);
  }
  printf("done\n");
  return 0;
}
