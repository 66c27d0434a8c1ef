/* cr_poll_checkpoint() in a restarted requester returns only once the request is complete
 * from the application's view (issue 13, behaviour 2): cr_status() is IDLE right after
 * it, even while a thread-context callback's restart part is slow.
 *
 *   poll_status EVENTS CONTEXT
 *
 * A thread-context callback sleeps 1 s in its restart part. main() requests a checkpoint
 * of itself into CONTEXT, polls (retrying on EINTR) and appends to EVENTS
 * "continued status S" or "restarted status S" (S = cr_status() right after the poll;
 * 0 IDLE, 1 PENDING), then "callback done" if the callback had finished. Exit 7. */
#include <errno.h>
#include <fcntl.h>
#include <libcr.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event_log.h"

static volatile int callback_done = 0;

static int callback(void* arg) {
  (void)arg;
  callback_done = 0;
  int r = cr_checkpoint(CR_CHECKPOINT_READY);
  if (r > 0) {
    struct timespec t = {1, 0};
    nanosleep(&t, NULL); /* a slow restart part */
  }
  callback_done = 1;
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  if (open_events(argv[1]) < 0) return 3;
  if (cr_init() < 0) return 4;
  if (cr_register_callback(callback, NULL, CR_THREAD_CONTEXT) < 0) return 5;
  int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 6;
  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_fd = fd;
  args.cr_scope = CR_SCOPE_PROC;
  cr_checkpoint_handle_t handle;
  if (cr_request_checkpoint(&args, &handle) != 0) return 9;
  int rc;
  do rc = cr_poll_checkpoint(&handle, NULL);
  while (rc == CR_POLL_CHKPT_ERR_PRE && errno == EINTR);
  int err = errno;
  int status = cr_status();
  char line[96];
  if (rc == CR_POLL_CHKPT_ERR_POST && err == CR_ERESTARTED)
    snprintf(line, sizeof line, "restarted status %d", status);
  else if (rc > 0)
    snprintf(line, sizeof line, "continued status %d", status);
  else
    snprintf(line, sizeof line, "poll %d errno %d status %d", rc, err, status);
  event(line);
  if (callback_done) event("callback done");
  return 7;
}
