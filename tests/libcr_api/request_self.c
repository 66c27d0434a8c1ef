/* The request API around a real server (cr_checkpoint next to libcr):
   - a request for a process that does not exist fails with ESRCH at once, or, with
     CR_CHKPT_ASYNC_ERR, at poll time (CR_POLL_CHKPT_ERR_POST) with the server's log
     available through cr_log_checkpoint / cr_poll_checkpoint_msg;
   - a self-checkpoint is written before cr_request_checkpoint() returns, even with
     CR_SIGNUM blocked in the calling thread;
   - a self-checkpoint whose signal-context callback asks for another checkpoint of its
     own process gets EBUSY there, and the outer request completes (poll returns 1);
   - the deprecated cr_request_file() / cr_request_fd() write an image and return;
   - no child or descriptor is left behind; $CREST_CR_CHECKPOINT names the server.
   Run as root and as uid 65534, in a scratch directory it removes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libcr.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static char scratch[256];

static void cleanup(void) {
  if (scratch[0]) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) fprintf(stderr, "request_self: could not remove %s\n", scratch);
  }
}

static pid_t gone_pid(void) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, NULL, 0);
  return pid;
}

static int poll_to_end(cr_checkpoint_handle_t *h, char **msg) {
  int rc;
  do rc = cr_poll_checkpoint_msg(h, NULL, msg);
  while (rc == CR_POLL_CHKPT_ERR_PRE && errno == EINTR);
  return rc;
}

static void check_missing_target(int null_fd) {
  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = CR_SCOPE_PROC;
  args.cr_target = gone_pid();
  args.cr_fd = null_fd;
  cr_checkpoint_handle_t h = 77;
  CHECK_FAILS(cr_request_checkpoint(&args, &h), -1, ESRCH);
  CHECK_EQ_INT(h, (cr_checkpoint_handle_t)-1);
  args.cr_scope = CR_SCOPE_TREE;
  CHECK_FAILS(cr_request_checkpoint(&args, &h), -1, ESRCH);

  /* Deferred: the request is accepted, the error comes with the result. */
  args.cr_scope = CR_SCOPE_PROC;
  args.cr_flags = CR_CHKPT_ASYNC_ERR;
  CHECK_EQ_INT(cr_request_checkpoint(&args, &h), 0);
  CHECK((long)h >= 0);
  struct timeval tv = {30, 0};
  CHECK_EQ_INT(cr_wait_checkpoint(&h, &tv), 1);
  int len = cr_log_checkpoint(&h, 0, NULL);
  CHECK(len > 1); /* the server says what went wrong */
  if (len > 1) {
    char *full = malloc(len);
    CHECK_EQ_INT(cr_log_checkpoint(&h, len, full), len);
    CHECK_EQ_INT(strlen(full), len - 1);
    char small[5] = "xxxx";
    CHECK_EQ_INT(cr_log_checkpoint(&h, sizeof small, small), len); /* truncated, NUL-ended */
    CHECK_EQ_INT(strlen(small), len - 1 < 4 ? len - 1 : 4);
    CHECK(strncmp(small, full, strlen(small)) == 0);
    char *again = NULL;
    CHECK_EQ_INT(poll_to_end(&h, &again), CR_POLL_CHKPT_ERR_POST);
    CHECK_EQ_INT(errno, ESRCH);
    CHECK(again != NULL && strcmp(again, full) == 0);
    free(again);
    free(full);
  } else {
    CHECK_EQ_INT(poll_to_end(&h, NULL), CR_POLL_CHKPT_ERR_POST);
  }
  CHECK_EQ_INT(h, (cr_checkpoint_handle_t)-1);
}

static int open_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 1024; ++fd)
    if (fcntl(fd, F_GETFD) >= 0) ++n;
  return n;
}

/* No child of ours is left behind (the server is a grandchild, its parent reaped at
   once), no descriptor leaks, and $CREST_CR_CHECKPOINT names the server: one that cannot
   be started makes the request fail with ENOSYS. */
static volatile int sigchld_count;
static void on_sigchld(int sig) {
  (void)sig;
  ++sigchld_count;
}

static void check_no_leftovers(int null_fd) {
  int before = open_fds();
  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = CR_SCOPE_PROC;
  args.cr_target = gone_pid();
  args.cr_fd = null_fd;
  args.cr_flags = CR_CHKPT_ASYNC_ERR;
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGCHLD, &sa, &old);
  sigchld_count = 0;
  cr_checkpoint_handle_t h;
  CHECK_EQ_INT(cr_request_checkpoint(&args, &h), 0);
  CHECK_FAILS(waitpid(-1, NULL, WNOHANG), -1, ECHILD);
  CHECK_EQ_INT(open_fds(), before + 1); /* the handle */
  CHECK_EQ_INT(poll_to_end(&h, NULL), CR_POLL_CHKPT_ERR_POST);
  CHECK_EQ_INT(open_fds(), before);
  CHECK_EQ_INT(sigchld_count, 0); /* the application saw no child of the request's */
  sigaction(SIGCHLD, &old, NULL);

  setenv("CREST_CR_CHECKPOINT", "/nonexistent/cr_checkpoint", 1);
  args.cr_flags = 0;
  CHECK_FAILS(cr_request_checkpoint(&args, &h), -1, ENOSYS);
  CHECK_EQ_INT(h, (cr_checkpoint_handle_t)-1);
  unsetenv("CREST_CR_CHECKPOINT");
  CHECK_EQ_INT(open_fds(), before);
  CHECK_FAILS(waitpid(-1, NULL, WNOHANG), -1, ECHILD);
}

static int null_fd_for_callback;
static volatile int inner_rc = 12345, inner_errno, callback_ran;

static int callback(void *arg) {
  (void)arg;
  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = CR_SCOPE_PROC;
  args.cr_fd = null_fd_for_callback;
  cr_checkpoint_handle_t h;
  inner_rc = cr_request_checkpoint(&args, &h);
  inner_errno = errno;
  callback_ran = 1;
  cr_checkpoint(CR_CHECKPOINT_READY);
  return 0;
}

static void check_request_from_callback(int null_fd) {
  null_fd_for_callback = null_fd;
  CHECK(cr_init() >= 0);
  CHECK(cr_register_callback(callback, NULL, CR_SIGNAL_CONTEXT) >= 0);
  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = CR_SCOPE_PROC;
  args.cr_fd = null_fd;
  cr_checkpoint_handle_t h;
  CHECK_EQ_INT(cr_request_checkpoint(&args, &h), 0);
  CHECK_EQ_INT(poll_to_end(&h, NULL), 1);
  CHECK_EQ_INT(callback_ran, 1);
  CHECK_EQ_INT(inner_rc, -1);
  CHECK_EQ_INT(inner_errno, EBUSY);
}

static off_t size_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : -1;
}

/* BLCR's stage0001: with signal-context callbacks only, a self-checkpoint is done (the
   callbacks ran, the image is written) when cr_request_checkpoint() returns, even if the
   thread had blocked CR_SIGNUM; the thread's signal mask is as it was afterwards. */
static void check_self_before_return(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/self.ctx", scratch);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);
  sigset_t block, mask;
  sigemptyset(&block);
  sigaddset(&block, CR_SIGNUM);
  sigprocmask(SIG_BLOCK, &block, NULL);
  callback_ran = 0;
  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = CR_SCOPE_PROC;
  args.cr_fd = fd;
  cr_checkpoint_handle_t h;
  CHECK_EQ_INT(cr_request_checkpoint(&args, &h), 0);
  CHECK_EQ_INT(callback_ran, 1);
  CHECK(size_of(path) > 0);
  CHECK_EQ_INT(poll_to_end(&h, NULL), 1);
  sigprocmask(SIG_SETMASK, NULL, &mask);
  CHECK(sigismember(&mask, CR_SIGNUM) == 1);
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  close(fd);
}

static void check_deprecated(void) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  char path[512];
  snprintf(path, sizeof path, "%s/old.ctx", scratch);
  cr_request_file(path);
  CHECK(size_of(path) > 0);
  snprintf(path, sizeof path, "%s/fd.ctx", scratch);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  CHECK(fd >= 0);
  cr_request_fd(fd);
  CHECK(size_of(path) > 0);
  /* A second request reaps the first one before it starts. */
  off_t first = size_of(path);
  cr_request_fd(fd);
  CHECK(size_of(path) > first);
  close(fd);
#pragma GCC diagnostic pop
}

int main(void) {
  alarm(40); /* a request that deadlocks ends the test (and so its server) */
  snprintf(scratch, sizeof scratch, "/tmp/crest-request-self-XXXXXX");
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 1;
  }
  atexit(cleanup);
  int null_fd = open("/dev/null", O_WRONLY);
  check_missing_target(null_fd);
  check_no_leftovers(null_fd);
  check_request_from_callback(null_fd);
  check_self_before_return();
  check_deprecated();
  close(null_fd);
  return check_done("request_self.c");
}
