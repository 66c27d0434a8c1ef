/* A program interrupted by a checkpoint whose after-action is a signal (cr_checkpoint
 * --term, --kill, --signal): issue 13, behaviour 3. It appends one line per event to
 * argv[1] and sleeps; the line "after" is written once the sleep ends (the checkpoint's
 * handler returned), then it exits 7. With BLCR's order the signal is delivered before
 * the interrupted program runs again, so the checkpointed original never writes "after"
 * unless the signal's own handler lets it (SIGUSR1 here writes "usr1" first).
 *
 *   after_signal EVENTS           linked with libcr: cr_init() and one signal-context
 *                                 callback writing "cb continue" / "cb restart"
 *   after_signal_plain EVENTS     the same without libcr (PLAIN), for cr_run */
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

static void on_usr1(int sig) {
  (void)sig;
  event("usr1");
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  if (open_events(argv[1]) < 0) return 3;
  signal(SIGUSR1, on_usr1);
  if (start_logging_callback() != 0) return 4;
  event("ready");
  struct timespec t = {60, 0};
  nanosleep(&t, NULL);  /* ends early (EINTR) when the checkpoint's handler returns */
  event("after");
  return 7;
}
