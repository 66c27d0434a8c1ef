// checksum_threads [THREADS]
//
// Test subject for tests/cli (interrupted checkpoints, thread ids): THREADS (default 1)
// threads in all. Every extra thread recomputes a checksum of a buffer with known
// contents in a tight loop; the main thread does the same every 20 ms and prints a
// counter, one number per line, as spin_print does, then a line "tid N" for each extra
// thread once at the start. Any wrong checksum or a signal mask that is no longer the
// one set at the start (SIGUSR2 blocked, nothing else) prints "BAD ..." and exits 3: a
// process damaged by a checkpoint does not run on quietly. SIGUSR1 is counted as in
// spin_print ("usr1" lines), so that a test can see signals are still delivered.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "subject.h"

enum { kWords = 4096 };
static uint64_t g_buffer[kWords];
static uint64_t g_expected;

static uint64_t checksum(void) {
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < kWords; i++) h = (h ^ g_buffer[i]) * 1099511628211ull;
  return h;
}

static void check_mask(const sigset_t* want, const char* who) {
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, NULL, &now);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (sigismember(&now, sig) != sigismember(want, sig)) {
      char line[96];
      int len = snprintf(line, sizeof line, "BAD signal mask in %s (signal %d)\n", who, sig);
      write_all(line, (size_t)len);
      _exit(3);
    }
  }
}

static void check_sum(const char* who) {
  if (checksum() == g_expected) return;
  char line[64];
  int len = snprintf(line, sizeof line, "BAD checksum in %s\n", who);
  write_all(line, (size_t)len);
  _exit(3);
}

static sigset_t g_mask;

static void* worker(void* arg) {
  (void)arg;
  char line[32];
  int len = snprintf(line, sizeof line, "tid %ld\n", (long)syscall(SYS_gettid));
  write_all(line, (size_t)len);
  for (unsigned long n = 0;; n++) {
    check_sum("worker");
    if (n % 64 == 0) check_mask(&g_mask, "worker");
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  for (int i = 0; i < kWords; i++) g_buffer[i] = (uint64_t)i * 0x9e3779b97f4a7c15ull;
  g_expected = checksum();
  catch_usr1();
  sigemptyset(&g_mask);
  sigaddset(&g_mask, SIGUSR2);
  pthread_sigmask(SIG_SETMASK, &g_mask, NULL);
  for (int i = 1; i < threads; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0) _exit(4);
  }
  for (unsigned long counter = 0;; counter++) {
    while (usr1_pending()) write_all("usr1\n", 5);
    check_sum("main");
    check_mask(&g_mask, "main");
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%lu\n", counter);
    write_all(buf, (size_t)len);
    sleep_ms(20);
  }
}
