/* coop_counter with the real libcr: prints "step N" lines (one every INTERVAL ms) and
 * exits with status 5. A callback (signal context, or thread context with
 * REAL_CONTEXT=thread) calls cr_checkpoint() with REAL_DECISION (ready, temp, temp:CODE,
 * perm, omit) and appends to $REAL_LOG:
 *   info PID requester=R target=T scope=S signal=G dest=D   (cr_get_checkpoint_info())
 *   checkpoint PID rc=RC
 *   restart PID requester=R src=S                            (when RC > 0)
 */
#include <errno.h>
#include <fcntl.h>
#include <libcr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void log_line(const char *line) {
  const char *path = getenv("REAL_LOG");
  if (!path) return;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return;
  (void)!write(fd, line, strlen(line));
  close(fd);
}

static int callback(void *arg) {
  (void)arg;
  char line[4400];
  const struct cr_checkpoint_info *ci = cr_get_checkpoint_info();
  if (ci) {
    snprintf(line, sizeof line, "info %d requester=%d target=%d scope=%d signal=%d dest=%s\n", getpid(), ci->requester,
             ci->target, (int)ci->scope, ci->signal, ci->dest ? ci->dest : "(null)");
    log_line(line);
  }
  const char *d = getenv("REAL_DECISION");
  int flags = CR_CHECKPOINT_READY;
  if (d) {
    int code = strchr(d, ':') ? atoi(strchr(d, ':') + 1) : 0;
    if (!strncmp(d, "temp", 4)) flags = CR_CHECKPOINT_TEMP_FAILURE_CODE(code);
    else if (!strncmp(d, "perm", 4)) flags = CR_CHECKPOINT_PERM_FAILURE_CODE(code);
    else if (!strcmp(d, "omit")) flags = CR_CHECKPOINT_OMIT;
  }
  int rc = cr_checkpoint(flags);
  snprintf(line, sizeof line, "checkpoint %d rc=%d\n", getpid(), rc);
  log_line(line);
  if (rc > 0) {
    const struct cr_restart_info *ri = cr_get_restart_info();
    snprintf(line, sizeof line, "restart %d requester=%d src=%s\n", getpid(), ri ? ri->requester : -1,
             ri && ri->src ? ri->src : "(null)");
    log_line(line);
  }
  return 0;
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 30;
  long interval = argc > 2 ? atol(argv[2]) : 100;
  if (cr_init() < 0) return 91;
  const char *ctx = getenv("REAL_CONTEXT");
  int which = ctx && !strcmp(ctx, "thread") ? CR_THREAD_CONTEXT : CR_SIGNAL_CONTEXT;
  if (cr_register_callback(callback, NULL, which) < 0) return 92;
  setvbuf(stdout, NULL, _IONBF, 0);
  for (int i = 0; i < steps; ++i) {
    printf("step %d\n", i);
    struct timespec ts = {interval / 1000, (interval % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  return 5;
}
