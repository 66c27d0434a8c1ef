/* A parent and one child. The child takes FAKECR_DECISION from CHILD_DECISION (so that
 * it can omit itself while the parent does not) and sleeps for 2*STEPS*INTERVAL ms; the
 * parent prints "step N" lines like coop_counter and exits 0 without waiting for it.
 * With CHILD_EXEC the child execs that program instead (STEPS INTERVAL as arguments,
 * stdout to CHILD_OUT). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 30;
  long interval = argc > 2 ? atol(argv[2]) : 100;
  setvbuf(stdout, NULL, _IONBF, 0);
  pid_t child = fork();
  if (child < 0) return 90;
  if (child == 0) {
    const char* exe = getenv("CHILD_EXEC");  /* a program without libcr, output to CHILD_OUT */
    if (exe) {
      int out = open(getenv("CHILD_OUT"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0 || dup2(out, 1) != 1) _exit(91);
      close(out);
      execl(exe, exe, argv[1], argv[2], (char*)NULL);
      _exit(127);
    }
    const char* d = getenv("CHILD_DECISION");
    if (d) setenv("FAKECR_DECISION", d, 1);
    for (int i = 0; i < 2 * steps; ++i) sleep_ms(interval);
    _exit(0);
  }
  printf("parent started a child\n");
  for (int i = 0; i < steps; ++i) {
    printf("step %d\n", i);
    sleep_ms(interval);
  }
  return 0;
}
