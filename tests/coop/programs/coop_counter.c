/* Prints "step N" lines (one every INTERVAL ms, N from 0 to STEPS-1) and exits with
 * status 5. With COOP_HANDLE_FD=N it first puts the read end of a pipe whose write end
 * is closed at descriptor N (a stand-in for a request handle) and, at the end, reports
 * what reading it gives. With PLAIN_RT_HANDLER it catches signal 64 and reports it; with
 * IGNORE_USR1 it ignores SIGUSR1. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t rt_seen = 0;
static void on_rt(int sig) { (void)sig; rt_seen = 1; }

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 30;
  long interval = argc > 2 ? atol(argv[2]) : 100;
  const char* hfd = getenv("COOP_HANDLE_FD");
  int handle = hfd ? atoi(hfd) : -1;
  if (handle >= 0) {
    int p[2];
    if (pipe(p) != 0 || dup2(p[0], handle) < 0) return 90;
    close(p[0]);
    close(p[1]);
  }
  if (getenv("PLAIN_RT_HANDLER")) signal(64, on_rt);
  if (getenv("IGNORE_USR1")) signal(SIGUSR1, SIG_IGN);
  setvbuf(stdout, NULL, _IONBF, 0);
  for (int i = 0; i < steps; ++i) {
    printf("step %d\n", i);
    struct timespec ts = {interval / 1000, (interval % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  if (handle >= 0) {
    uint32_t msg[4] = {0};
    ssize_t n = read(handle, msg, sizeof msg);
    if (n == (ssize_t)sizeof msg)
      printf("handle magic=%08x type=%u err=%d log=%u\n", msg[0], msg[1], (int)msg[2], msg[3]);
    else
      printf("handle read %zd\n", n);
  }
  if (rt_seen) printf("signal 64 arrived\n");
  return 5;
}
