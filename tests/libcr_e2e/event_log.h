/* The event file of the libcr_e2e programs: one line per event, appended with write() so
 * that a restarted copy appends to the same file and a signal handler may log too. */
#ifndef LIBCR_E2E_EVENT_LOG_H
#define LIBCR_E2E_EVENT_LOG_H
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int event_fd = -1;

static int open_events(const char* path) {
  event_fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  return event_fd;
}

static void event(const char* line) {
  char buf[128];
  size_t n = strlen(line);
  memcpy(buf, line, n);
  buf[n] = '\n';
  if (write(event_fd, buf, n + 1) != (ssize_t)(n + 1)) _exit(20);
}

/* Linked with libcr (not PLAIN): cr_init() and one signal-context callback writing
 * "cb continue" or "cb restart" after its cr_checkpoint(). Returns 0, or -1. */
#ifndef PLAIN
#include <libcr.h>
static inline int logging_callback(void* arg) {
  (void)arg;
  int r = cr_checkpoint(CR_CHECKPOINT_READY);
  event(r > 0 ? "cb restart" : r == 0 ? "cb continue" : "cb failed");
  return 0;
}
#endif

static inline int start_logging_callback(void) {
#ifndef PLAIN
  if (cr_init() < 0 || cr_register_callback(logging_callback, NULL, CR_SIGNAL_CONTEXT) < 0) return -1;
#endif
  return 0;
}

#endif
