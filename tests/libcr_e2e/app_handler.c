/* An application that installs its own action on CR_SIGNUM after libcr (issue 13,
 * behaviour 4). It appends one line per event to argv[1]:
 *
 *   app_handler EVENTS MODE          linked with libcr: cr_init() and a signal-context
 *                                    callback writing "cb continue" / "cb restart"
 *   app_handler_plain EVENTS MODE    the same without libcr (PLAIN), for cr_run
 *
 * MODE: "sigaction" (an SA_SIGINFO handler), "signal" (signal() with a plain handler),
 * "ign" (SIG_IGN). It writes "ready" and sleeps; when the sleep ends (a checkpoint's
 * handler returned) it writes "after", then "kept" if sigaction() still reports what it
 * installed, and, for the handler modes, sends itself CR_SIGNUM: its handler must write
 * "app handler". Exit 7. The application's handler must never run for a checkpoint. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifndef PLAIN
#include <libcr.h>
#endif

#include "event_log.h"
#define SIGNUM 64 /* CR_SIGNUM */


static void on_signum_info(int sig, siginfo_t* info, void* ctx) {
  (void)sig, (void)info, (void)ctx;
  event("app handler");
}

static void on_signum(int sig) {
  (void)sig;
  event("app handler");
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  if (open_events(argv[1]) < 0) return 3;
  if (start_logging_callback() != 0) return 4;
  const char* mode = argv[2];
  int handler_mode = strcmp(mode, "ign") != 0;
  struct sigaction act;
  memset(&act, 0, sizeof act);
  if (strcmp(mode, "sigaction") == 0) {
    act.sa_sigaction = on_signum_info;
    act.sa_flags = SA_SIGINFO;
    if (sigaction(SIGNUM, &act, NULL) != 0) return 6;
  } else if (strcmp(mode, "signal") == 0) {
    if (signal(SIGNUM, on_signum) == SIG_ERR) return 6;
  } else if (strcmp(mode, "ign") == 0) {
    if (signal(SIGNUM, SIG_IGN) == SIG_ERR) return 6;
  } else {
    return 2;
  }
  event("ready");
  struct timespec t = {60, 0};
  nanosleep(&t, NULL); /* ends early (EINTR) when the checkpoint's handler returns */
  event("after");
  struct sigaction now;
  if (sigaction(SIGNUM, NULL, &now) == 0) {
    int kept = strcmp(mode, "sigaction") == 0 ? (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_signum_info
               : strcmp(mode, "signal") == 0  ? !(now.sa_flags & SA_SIGINFO) && now.sa_handler == on_signum
                                              : now.sa_handler == SIG_IGN;
    event(kept ? "kept" : "lost");
  }
  if (handler_mode) {
    kill(getpid(), SIGNUM);
    struct timespec ms = {0, 100000000};
    nanosleep(&ms, NULL);
  }
  return 7;
}
