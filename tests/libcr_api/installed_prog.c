/* Built against an installed crest (pkg-config libcr, or find_package(crest)) by
   install_test.py: the headers are found, -lcr links, the library loads at run time.
   With the argument "request" it also checkpoints a child of its own to /dev/null, which
   needs libcr to find cr_checkpoint in the prefix's bin directory (../bin from lib). */
#include <fcntl.h>
#include <libcr.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int request_child(void) {
  pid_t child = fork();
  if (child == 0) {
    for (;;) pause();
  }
  int null_fd = open("/dev/null", O_WRONLY);
  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = CR_SCOPE_PROC;
  args.cr_target = child;
  args.cr_fd = null_fd;
  cr_checkpoint_handle_t h;
  int rc = cr_request_checkpoint(&args, &h);
  int err = errno;
  if (rc == 0) {
    do rc = cr_poll_checkpoint(&h, NULL);
    while (rc == CR_POLL_CHKPT_ERR_PRE && errno == EINTR);
    err = errno;
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  close(null_fd);
  if (rc != 1) {
    fprintf(stderr, "installed_prog: checkpoint of pid %d: rc %d, %s\n", (int)child, rc, cr_strerror(err));
    return 1;
  }
  printf("installed_prog: checkpointed pid %d\n", (int)child);
  return 0;
}

int main(int argc, char **argv) {
  cr_checkpoint_args_t args;
  if (cr_initialize_checkpoint_args_t(&args) != 0 || args.cr_version != CR_CHECKPOINT_ARGS_VERSION) {
    fprintf(stderr, "installed_prog: cr_initialize_checkpoint_args_t failed\n");
    return 1;
  }
  const char *text = cr_strerror(CR_EOMITTED);
  if (strcmp(text, "Process omitted from checkpoint at a callback's request") != 0) {
    fprintf(stderr, "installed_prog: cr_strerror(CR_EOMITTED) = \"%s\"\n", text);
    return 1;
  }
  printf("installed_prog: libcr %s, release %s, CR_SIGNUM %d\n", LIBCR_VERSION, CR_RELEASE_VERSION,
         cri_signum);
  if (argc > 1 && strcmp(argv[1], "request") == 0) return request_child();
  return 0;
}
