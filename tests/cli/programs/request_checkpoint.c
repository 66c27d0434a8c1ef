/* request_checkpoint SCOPE TARGET SIGNAL: one cr_request_checkpoint() through libcr (the
 * image goes to /dev/null), then cr_poll_checkpoint() if it was accepted. Prints one line,
 * "request REQUEST_RC ERRNO poll POLL_RC ERRNO", and exits 0 (the test reads the line).
 * SCOPE: proc, pgrp, sess or tree; TARGET 0 is the caller's own; SIGNAL is cr_signal. */
#include <errno.h>
#include <fcntl.h>
#include <libcr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: request_checkpoint proc|pgrp|sess|tree TARGET SIGNAL\n");
    return 2;
  }
  static const char *const kScopes[] = {"proc", "pgrp", "sess", "tree"};
  static const cr_scope_t kScopeValues[] = {CR_SCOPE_PROC, CR_SCOPE_PGRP, CR_SCOPE_SESS, CR_SCOPE_TREE};
  int scope = -1;
  for (int i = 0; i < 4; ++i)
    if (strcmp(argv[1], kScopes[i]) == 0) scope = i;
  if (scope < 0) {
    fprintf(stderr, "request_checkpoint: unknown scope %s\n", argv[1]);
    return 2;
  }
  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = kScopeValues[scope];
  args.cr_target = atoi(argv[2]);
  args.cr_signal = atoi(argv[3]);
  args.cr_fd = open("/dev/null", O_WRONLY);
  cr_checkpoint_handle_t handle;
  int request = cr_request_checkpoint(&args, &handle);
  int request_errno = request < 0 ? errno : 0;
  int poll = 0, poll_errno = 0;
  if (request == 0) {
    do poll = cr_poll_checkpoint(&handle, NULL);
    while (poll == CR_POLL_CHKPT_ERR_PRE && errno == EINTR);
    poll_errno = poll < 0 ? errno : 0;
  }
  printf("request %d %d poll %d %d\n", request, request_errno, poll, poll_errno);
  return 0;
}
