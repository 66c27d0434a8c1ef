/* libcr's functions that need no server: cr_strerror, spinlocks, the args initialisers,
   the argument checks of cr_request_checkpoint, the handle calls on descriptors that are
   no requests, and restart requests' argument errors. Run as root and
   as an ordinary user. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libcr.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "check.h"

static void check_strerror(void) {
  static const struct { int code; const char *text; } expected[] = {
    {CR_ETEMPFAIL, "Temporary error: checkpoint cancelled"},
    {CR_EPERMFAIL, "Permanent failure: checkpoint cancelled and job killed"},
    {CR_ENOSUPPORT, "Checkpoint support not linked into one or more processes"},
    {CR_EVERSION, "Requested kernel interface version is not supported"},
    {CR_EOMITTED, "Process omitted from checkpoint at a callback's request"},
    {CR_EBADARCH, "Context file does not match the kernel architecture"},
    {CR_EPTRACED, "One or more target processes is being ptraced"},
    {CR_EPTRACER, "One or more target processes has ptrace children"},
    {CR_ERSTRTABRT, "Restart aborted: restart cancelled and job killed"},
    {CR_ERESTARTED, "Request is invalid across a restart"},
    {CR_ENOTCB, "Call is only valid from a checkpoint callback"},
    {CR_ENOINIT, "Calling thread has not called cr_init()"},
  };
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; ++i)
    CHECK_EQ_STR(cr_strerror(expected[i].code), expected[i].text);
  /* Outside the table (including both bounds): strerror()'s text. */
  int others[] = {0, EINVAL, ESRCH, EBUSY, CR_MIN_ERRCODE, CR_MAX_ERRCODE, -1, 100000};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; ++i) {
    char want[256];
    snprintf(want, sizeof want, "%s", strerror(others[i]));
    CHECK_EQ_STR(cr_strerror(others[i]), want);
  }
}

static cr_spinlock_t shared_lock = CR_SPINLOCK_INITIALIZER;
static long counter;

static void *hammer(void *arg) {
  (void)arg;
  for (int i = 0; i < 200000; ++i) {
    cr_spinlock_lock(&shared_lock);
    long v = counter;
    if ((i & 1023) == 0) sched_yield(); /* widen the window a lost update needs */
    counter = v + 1;
    cr_spinlock_unlock(&shared_lock);
  }
  return NULL;
}

static void check_spinlocks(void) {
  cr_spinlock_t lock = 12345;
  cr_spinlock_init(&lock);
  CHECK_EQ_INT(lock, 0);
  CHECK(cr_spinlock_trylock(&lock) != 0);
  CHECK_EQ_INT(lock, 0x27182818);
  CHECK_EQ_INT(cr_spinlock_trylock(&lock), 0);
  cr_spinlock_unlock(&lock);
  CHECK_EQ_INT(lock, 0);
  cr_spinlock_lock(&lock);
  CHECK_EQ_INT(lock, 0x27182818);
  cr_spinlock_unlock(&lock);

  pthread_t t[3];
  for (int i = 0; i < 3; ++i) pthread_create(&t[i], NULL, hammer, NULL);
  for (int i = 0; i < 3; ++i) pthread_join(t[i], NULL);
  CHECK_EQ_INT(counter, 600000);
  CHECK_EQ_INT(shared_lock, 0);
}

static void check_init_args(void) {
  cr_checkpoint_args_t a;
  memset(&a, 0x5a, sizeof a);
  CHECK_EQ_INT(cr_initialize_checkpoint_args_t(&a), 0);
  CHECK_EQ_INT(a.cr_version, 1);
  CHECK_EQ_INT((int)a.cr_scope, -1);
  CHECK_EQ_INT(a.cr_target, 0);
  CHECK_EQ_INT(a.cr_fd, -1);
  CHECK_EQ_INT(a.cr_signal, 0);
  CHECK_EQ_INT(a.cr_timeout, 0);
  CHECK_EQ_INT(a.cr_flags, 0);
  CHECK_FAILS(cri_init_checkpoint_args_t(2, &a), -1, EINVAL);
  CHECK_FAILS(cri_init_checkpoint_args_t(0, &a), -1, EINVAL);

  cr_restart_args_t r;
  memset(&r, 0x5a, sizeof r);
  CHECK_EQ_INT(cr_initialize_restart_args_t(&r), 0);
  CHECK_EQ_INT(r.cr_version, 1);
  CHECK_EQ_INT(r.cr_fd, -1);
  CHECK_EQ_INT(r.cr_signal, 0);
  CHECK_EQ_INT(r.cr_flags, CR_RSTRT_RESTORE_PID);
  CHECK(r.cr_relocate == NULL);
  CHECK_FAILS(cri_init_restart_args_t(7, &r), -1, EINVAL);
}

/* A request that must be refused with errno err before any server is started; the
   handle is left alone. */
static void refused(cr_checkpoint_args_t *a, int err, int line) {
  cr_checkpoint_handle_t h = 4242;
  errno = 0;
  int rc = cr_request_checkpoint(a, &h);
  int e = errno;
  if (rc != -1 || e != err) {
    fprintf(stderr, "basic.c:%d: cr_request_checkpoint: expected -1/%s, got %d/%s\n", line,
            strerror(err), rc, strerror(e));
    ++check_failures;
  }
}

static void check_request_errors(const char *dir) {
  int fd = open("/dev/null", O_WRONLY);
  CHECK(fd >= 0);
  cr_checkpoint_args_t a;

#define REFUSED(setup, err)                \
  do {                                     \
    cr_initialize_checkpoint_args_t(&a);   \
    a.cr_scope = CR_SCOPE_PROC;            \
    a.cr_target = getpid();                \
    a.cr_fd = fd;                          \
    setup;                                 \
    refused(&a, err, __LINE__);            \
  } while (0)

  REFUSED(a.cr_version = 0, EINVAL);
  REFUSED(a.cr_version = 2, EINVAL);
  REFUSED(a.cr_scope = (cr_scope_t)-1, EINVAL); /* the initialiser's default */
  REFUSED(a.cr_scope = (cr_scope_t)4, EINVAL);
  REFUSED(a.cr_signal = 65, EINVAL);
  REFUSED(a.cr_signal = -65, EINVAL);
  REFUSED(a.cr_signal = 1000, EINVAL);
  REFUSED(a.cr_fd = -1, EINVAL);               /* the initialiser's default */
  REFUSED(a.cr_fd = CR_DEST_CWD, EINVAL);
  int closed = dup(fd);
  close(closed);
  REFUSED(a.cr_fd = closed, EINVAL);
  REFUSED(a.cr_flags = CR_CHKPT_PTRACED_ALLOW | CR_CHKPT_PTRACED_SKIP, EINVAL);

  /* A block device: one from /dev when there is one we can open, else one made here
     (root only). */
  int blk = -1;
  const char *candidates[] = {"/dev/loop0", "/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/ram0"};
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && blk < 0; ++i) {
    struct stat st;
    if (stat(candidates[i], &st) == 0 && S_ISBLK(st.st_mode)) blk = open(candidates[i], O_RDONLY | O_NONBLOCK);
  }
  char made[512] = "";
  if (blk < 0 && geteuid() == 0) {
    snprintf(made, sizeof made, "%s/blockdev", dir);
    if (mknod(made, S_IFBLK | 0600, makedev(7, 0)) == 0) blk = open(made, O_RDONLY | O_NONBLOCK);
  }
  if (blk >= 0) {
    struct stat st;
    CHECK(fstat(blk, &st) == 0 && S_ISBLK(st.st_mode));
    REFUSED(a.cr_fd = blk, EINVAL);
    close(blk);
  } else {
    /* An O_PATH descriptor of a block device node still has the block type. */
    printf("basic.c: no openable block device; using an O_PATH descriptor of one\n");
    const char *node = NULL;
    struct stat st;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; ++i)
      if (stat(candidates[i], &st) == 0 && S_ISBLK(st.st_mode)) node = candidates[i];
    if (node) {
      blk = open(node, O_PATH);
      CHECK(blk >= 0);
      REFUSED(a.cr_fd = blk, EINVAL);
      close(blk);
    } else {
      printf("basic.c: SKIP block device check (no block device node)\n");
    }
  }
  if (made[0]) unlink(made);
  close(fd);
#undef REFUSED
}

static void check_foreign_descriptors(void) {
  /* Descriptors that are no checkpoint request. */
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK(write(p[1], "x", 1) == 1);
  cr_checkpoint_handle_t h = (cr_checkpoint_handle_t)p[0];
  CHECK_FAILS(cr_reap_checkpoint(&h), -1, ENOTTY);
  CHECK_EQ_INT(h, p[0]);                        /* left alone... */
  CHECK(fcntl(p[0], F_GETFD) >= 0);             /* ...and still open */
  CHECK_FAILS(cr_log_checkpoint(&h, 0, NULL), -1, EINVAL);
  struct timeval tv = {0, 0};
  CHECK_EQ_INT(cr_wait_checkpoint(&h, &tv), 1); /* select() on any descriptor */
  CHECK_FAILS(cr_poll_checkpoint(&h, NULL), CR_POLL_CHKPT_ERR_POST, ENOTTY);
  char *msg = (char *)"untouched";
  CHECK_FAILS(cr_poll_checkpoint_msg(&h, NULL, &msg), CR_POLL_CHKPT_ERR_LOG, EINVAL);
  CHECK_EQ_STR(msg, "untouched");
  close(p[0]);
  close(p[1]);

  /* A closed descriptor: EBADF, and the reap marks the handle invalid. */
  h = (cr_checkpoint_handle_t)p[0];
  tv.tv_sec = 0;
  tv.tv_usec = 0;
  CHECK_FAILS(cr_wait_checkpoint(&h, &tv), -1, EBADF);
  CHECK_FAILS(cr_poll_checkpoint(&h, &tv), CR_POLL_CHKPT_ERR_PRE, EBADF);
  CHECK_FAILS(cr_reap_checkpoint(&h), -1, EBADF);
  CHECK_EQ_INT(h, (cr_checkpoint_handle_t)-1);
  CHECK_FAILS(cr_wait_checkpoint(&h, &tv), -1, EBADF);

  /* An empty pipe: wait with a bound times out and writes the remaining time (0) back. */
  CHECK(pipe(p) == 0);
  h = (cr_checkpoint_handle_t)p[0];
  tv.tv_sec = 0;
  tv.tv_usec = 20000;
  CHECK_EQ_INT(cr_wait_checkpoint(&h, &tv), 0);
  CHECK_EQ_INT(tv.tv_sec, 0);
  CHECK_EQ_INT(tv.tv_usec, 0);
  tv.tv_usec = 1000;
  CHECK_EQ_INT(cr_poll_checkpoint(&h, &tv), 0);
  close(p[0]);
  close(p[1]);
}

/* cr_wait_checkpoint on a descriptor beyond FD_SETSIZE (select() cannot take it): the
   same results, remaining time written back. */
static void check_wait_high_fd(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 2048 && rl.rlim_max >= 2048) {
    rl.rlim_cur = 2048;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int p[2];
  CHECK(pipe(p) == 0);
  if (dup2(p[0], 2000) != 2000) {
    printf("basic.c: SKIP wait on fd 2000 (RLIMIT_NOFILE)\n");
    close(p[0]);
    close(p[1]);
    return;
  }
  cr_checkpoint_handle_t h = 2000;
  struct timeval tv = {0, 20000};
  CHECK_EQ_INT(cr_wait_checkpoint(&h, &tv), 0);
  CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);
  CHECK(write(p[1], "x", 1) == 1);
  tv.tv_sec = 5;
  tv.tv_usec = 0;
  CHECK_EQ_INT(cr_wait_checkpoint(&h, &tv), 1);
  long long left = tv.tv_sec * 1000000LL + tv.tv_usec;
  CHECK(left > 4000000LL && left <= 5000000LL);
  close(2000);
  CHECK_FAILS(cr_wait_checkpoint(&h, &tv), -1, EBADF);
  close(p[0]);
  close(p[1]);
}

static void check_restart_requests(void) {
  /* Argument errors are reported at once; the rest (tests/libcr_e2e/restart_api.c) by
   * the poll. */
  cr_restart_args_t r;
  cr_initialize_restart_args_t(&r);
  r.cr_version = 99;
  r.cr_fd = 0;
  cr_restart_handle_t h = 7;
  CHECK_FAILS(cr_request_restart(&r, &h), -1, EINVAL);
  cr_initialize_restart_args_t(&r);
  r.cr_fd = 3000;  /* not open */
  CHECK_FAILS(cr_request_restart(&r, &h), -1, EBADF);
  r.cr_fd = 0;
  r.cr_signal = 1000;
  CHECK_FAILS(cr_request_restart(&r, &h), -1, EINVAL);
  h = (cr_restart_handle_t)-1;
  CHECK_FAILS(cr_wait_restart(&h, NULL), -1, EBADF);
  CHECK_FAILS(cr_reap_restart(&h), -1, EBADF);
  CHECK_FAILS(cr_log_restart(&h, 0, NULL), -1, EINVAL);
  CHECK_FAILS(cr_poll_restart(&h, NULL), CR_POLL_RSTRT_ERR_PRE, EBADF);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/tmp";
  check_strerror();
  check_spinlocks();
  check_init_args();
  check_request_errors(dir);
  check_foreign_descriptors();
  check_wait_high_fd();
  check_restart_requests();
  return check_done("basic.c");
}
