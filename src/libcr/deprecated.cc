// BLCR's deprecated self-checkpoint calls (BLCR-API.md 1.10): cr_request(),
// cr_request_file(), cr_request_fd(). Scope PROC of the caller's own process; the
// previous request is reaped first (a file whose checkpoint failed is removed); the call
// returns once the checkpoint is pending in this process or complete. Errors abort the
// process, as in BLCR.
#include <fcntl.h>
#include <libcr.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// The callback side's cr_status(); weak so that the request side links without it.
#pragma weak cr_status

namespace {

pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
char g_prev_name[PATH_MAX];
cr_checkpoint_handle_t g_handle = static_cast<cr_checkpoint_handle_t>(-1);

[[noreturn]] __attribute__((format(printf, 1, 2))) void die(const char* fmt, ...) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "libcr: ");
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(buf + n, sizeof buf - n, fmt, ap);
  va_end(ap);
  if (n > static_cast<int>(sizeof buf) - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t ignored = write(2, buf, n);
  (void)ignored;
  abort();
}

void require_init(const char* what) {
  // cr_status() fails with CR_ENOINIT in a thread that never called cr_init().
  if (cr_status && cr_status() < 0 && errno == CR_ENOINIT)
    die("%s called without first calling cr_init()", what);
}

// True once this process has the checkpoint pending or active (cr_status() reports it).
bool pending() {
  if (!cr_status) return false;
  int s = cr_status();
  return s == CR_STATE_PENDING || s == CR_STATE_ACTIVE;
}

void request(int fd, const char* filename) {
  pthread_mutex_lock(&g_lock);

  if (static_cast<long>(g_handle) >= 0) {
    int rc;
    do rc = cr_poll_checkpoint(&g_handle, nullptr);
    while (rc < 0 && errno == EINTR);
    if (rc < 0 && !(rc == CR_POLL_CHKPT_ERR_POST && errno == CR_ERESTARTED) && g_prev_name[0] &&
        !(filename && strcmp(g_prev_name, filename) == 0) && unlink(g_prev_name) < 0)
      die("cannot remove the context file %s of a failed checkpoint: %s", g_prev_name,
          strerror(errno));
  }
  g_prev_name[0] = '\0';

  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = CR_SCOPE_PROC;
  args.cr_fd = fd;
  if (cr_request_checkpoint(&args, &g_handle) != 0)
    die("cr_request_checkpoint failed: %s", cr_strerror(errno));

  // Return only once the checkpoint is pending here or done, so that a critical section
  // entered right after this call cannot race with it.
  int rc = 0;
  int err = 0;
  for (;;) {
    if (pending()) break;
    rc = cr_reap_checkpoint(&g_handle);
    err = errno;
    if (rc == 0 || err != EAGAIN) break;
    struct timeval tick = {0, 1000};
    cr_wait_checkpoint(&g_handle, &tick);
  }
  if (filename) {
    if (rc < 0 && err != EAGAIN && err != CR_ERESTARTED && err != ENOTTY && err != EBADF) {
      if (unlink(filename) < 0)
        die("cannot remove the context file %s of a failed checkpoint: %s", filename,
            strerror(errno));
    } else {
      snprintf(g_prev_name, sizeof g_prev_name, "%s", filename);
    }
  }
  pthread_mutex_unlock(&g_lock);
}

void request_file(const char* filename) {
  int fd;
  do fd = open(filename, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) die("open(%s): %s", filename, strerror(errno));
  request(fd, filename);
  close(fd);
}

}  // namespace

extern "C" {

void cr_request_fd(int fd) {
  require_init("cr_request_fd()");
  request(fd, nullptr);
}

void cr_request_file(const char* filename) {
  require_init("cr_request_file()");
  request_file(filename);
}

void cr_request(void) {
  require_init("cr_request()");
  char filename[32];
  snprintf(filename, sizeof filename, "context.%d", static_cast<int>(getpid()));
  request_file(filename);
}

}  // extern "C"
