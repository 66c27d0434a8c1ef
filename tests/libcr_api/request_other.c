/* Checkpoints of OTHER processes through libcr's request API (BLCR-API.md 1.6):
   - a child started with plain fork/exec (no libcr) is checkpointed with
     cr_request_checkpoint + a bounded cr_wait_checkpoint({0, 1000}) that returns 0 (the
     dump of 32 MiB takes longer), then one with a long bound that completes and writes the
     remaining time back, then cr_poll_checkpoint; cr_restart of the image prints what the
     original printed after the checkpoint, and an uninterrupted run prints the same;
   - two requests on two targets in flight at once, each polled on its own; both images
     restart.

     request_other TOOLS_DIR SUBJECT [cr_restart options...]

   Every process it starts is ended by pid on the way out; the scratch directory is
   removed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libcr.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static char scratch[256];
static pid_t started[16];
static int nstarted;

static void cleanup(void) {
  for (int i = 0; i < nstarted; ++i)
    if (started[i] > 0) {
      kill(started[i], SIGKILL);
      waitpid(started[i], NULL, 0);
    }
  if (scratch[0]) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) fprintf(stderr, "request_other: could not remove %s\n", scratch);
  }
}

static void die(const char *what) {
  fprintf(stderr, "request_other: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* Starts argv with stdout on a pipe and stderr into err_path (or /dev/null); returns the
   read end as a FILE. */
static FILE *start_err(char *const argv[], pid_t *pid, const char *err_path) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) die("pipe");
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(p[1], 1);
    int err = err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null;
    dup2(err >= 0 ? err : null, 2);
    /* Nothing else: ctest's own descriptors would be part of the image otherwise. */
    syscall(SYS_close_range, 3, ~0U, 0);
    if (chdir(scratch) < 0) _exit(126);
    execv(argv[0], argv);
    _exit(127);
  }
  close(p[1]);
  started[nstarted++] = child;
  *pid = child;
  return fdopen(p[0], "r");
}

static FILE *start(char *const argv[], pid_t *pid) { return start_err(argv, pid, NULL); }

static int finish(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) < 0) die("waitpid");
  for (int i = 0; i < nstarted; ++i)
    if (started[i] == pid) started[i] = 0;
  return status;
}

/* Reads lines into out until (and including) a line equal to stop, or to the end. */
static void read_until(FILE *f, const char *stop, char *out, size_t size) {
  char line[256];
  size_t used = strlen(out);
  while (fgets(line, sizeof line, f)) {
    size_t n = strlen(line);
    if (used + n < size) {
      memcpy(out + used, line, n + 1);
      used += n;
    }
    if (stop && strcmp(line, stop) == 0) return;
  }
}

static int open_image(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", scratch, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) die(path);
  return fd;
}

static cr_checkpoint_handle_t request(pid_t target, int fd) {
  cr_checkpoint_args_t args;
  CHECK_EQ_INT(cr_initialize_checkpoint_args_t(&args), 0);
  args.cr_scope = CR_SCOPE_PROC;
  args.cr_target = target;
  args.cr_fd = fd;
  cr_checkpoint_handle_t h = (cr_checkpoint_handle_t)-1;
  if (cr_request_checkpoint(&args, &h) != 0) {
    fprintf(stderr, "request_other: cr_request_checkpoint(pid %d): %s\n", (int)target,
            cr_strerror(errno));
    exit(1);
  }
  return h;
}

/* cr_restart IMAGE; returns its output; *status its wait status. */
static void restart(const char *tools, char **restart_opts, int nopts, const char *image,
                    char *out, size_t size, int *status) {
  char prog[512], path[512];
  snprintf(prog, sizeof prog, "%s/cr_restart", tools);
  snprintf(path, sizeof path, "%s/%s", scratch, image);
  char *argv[16];
  int n = 0;
  argv[n++] = prog;
  for (int i = 0; i < nopts && n < 14; ++i) argv[n++] = restart_opts[i];
  argv[n++] = path;
  argv[n] = NULL;
  char err_path[512];
  snprintf(err_path, sizeof err_path, "%s/%s.err", scratch, image);
  pid_t pid;
  FILE *f = start_err(argv, &pid, err_path);
  out[0] = '\0';
  read_until(f, NULL, out, size);
  fclose(f);
  *status = finish(pid);
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    char cmd[600];
    fprintf(stderr, "request_other: cr_restart %s failed (status 0x%x); its stderr:\n", image, *status);
    snprintf(cmd, sizeof cmd, "cat '%s' >&2", err_path);
    if (system(cmd) != 0) fprintf(stderr, "(could not show it)\n");
  }
}

/* Polls h to its end; on a failure says why (errno and the server's log). */
static int poll_explained(cr_checkpoint_handle_t *h, const char *what) {
  char *log = NULL;
  int rc;
  do rc = cr_poll_checkpoint_msg(h, NULL, &log);
  while (rc == CR_POLL_CHKPT_ERR_PRE && errno == EINTR);
  if (rc != 1)
    fprintf(stderr, "request_other: %s: poll returned %d, errno %d (%s); log: %s\n", what, rc,
            errno, cr_strerror(errno), log ? log : "(none)");
  free(log);
  return rc;
}

static void go(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/go", scratch);
  int fd = open(path, O_WRONLY | O_CREAT, 0600);
  if (fd < 0) die(path);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: request_other TOOLS_DIR SUBJECT [cr_restart options...]\n");
    return 255;
  }
  const char *tools = argv[1];
  char **restart_opts = argv + 3;
  int nopts = argc - 3;
  snprintf(scratch, sizeof scratch, "/tmp/crest-request-XXXXXX");
  if (!mkdtemp(scratch)) die("mkdtemp");
  atexit(cleanup);
  char subject_path[512];
  snprintf(subject_path, sizeof subject_path, "%s", argv[2]);
  char *subject[] = {subject_path, (char *)"go", NULL};

  /* One target: bounded waits, then poll. */
  static char before[8192], after[8192], rest[8192], uninterrupted[8192];
  pid_t a;
  FILE *fa = start(subject, &a);
  read_until(fa, "waiting\n", before, sizeof before);
  CHECK(strstr(before, "waiting\n") != NULL);
  int image_a = open_image("a.img");
  cr_checkpoint_handle_t h = request(a, image_a);
  struct timeval tv = {0, 1000};
  CHECK_EQ_INT(cr_wait_checkpoint(&h, &tv), 0);    /* not done within 1 ms */
  CHECK_EQ_INT(tv.tv_sec, 0);                       /* nothing left of the bound */
  CHECK_EQ_INT(tv.tv_usec, 0);
  tv.tv_sec = 30;
  tv.tv_usec = 0;
  CHECK_EQ_INT(cr_wait_checkpoint(&h, &tv), 1);    /* done well within 30 s */
  long long left = tv.tv_sec * 1000000LL + tv.tv_usec;
  CHECK(left > 0 && left < 30000000LL);             /* the remaining time, written back */
  int len = cr_log_checkpoint(&h, 0, NULL);
  CHECK(len >= 0);
  CHECK_EQ_INT(cr_poll_checkpoint(&h, NULL), 1);
  CHECK_EQ_INT(h, (cr_checkpoint_handle_t)-1);      /* released */
  CHECK_FAILS(cr_reap_checkpoint(&h), -1, EBADF);
  struct stat st;
  CHECK(fstat(image_a, &st) == 0 && st.st_size > (16 << 20));
  close(image_a);

  go(); /* the original goes on */
  read_until(fa, NULL, after, sizeof after);
  fclose(fa);
  int status = finish(a);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(strstr(after, "done\n") != NULL);

  /* The same program without interruption prints the same. */
  pid_t u;
  FILE *fu = start(subject, &u);
  read_until(fu, NULL, uninterrupted, sizeof uninterrupted);
  fclose(fu);
  finish(u);
  char whole[16384];
  snprintf(whole, sizeof whole, "%s%s", before, after);
  CHECK_EQ_STR(whole, uninterrupted);

  /* The restart prints what the original printed after the checkpoint. */
  restart(tools, restart_opts, nopts, "a.img", rest, sizeof rest, &status);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ_STR(rest, after);

  /* Two targets, two requests in flight at once, each polled on its own. */
  char gopath[512];
  snprintf(gopath, sizeof gopath, "%s/go", scratch);
  unlink(gopath);
  pid_t b, c;
  static char before_b[8192], before_c[8192], after_b[8192], after_c[8192];
  FILE *fb = start(subject, &b);
  FILE *fc = start(subject, &c);
  read_until(fb, "waiting\n", before_b, sizeof before_b);
  read_until(fc, "waiting\n", before_c, sizeof before_c);
  int image_b = open_image("b.img"), image_c = open_image("c.img");
  cr_checkpoint_handle_t hb = request(b, image_b);
  cr_checkpoint_handle_t hc = request(c, image_c);
  CHECK(hb != hc);
  int done_b = 0, done_c = 0;
  for (int rounds = 0; (!done_b || !done_c) && rounds < 30000; ++rounds) {
    struct timeval zero = {0, 1000};
    if (!done_b) {
      int rc = cr_poll_checkpoint(&hb, &zero);
      CHECK(rc == 0 || rc == 1);
      if (rc != 0) done_b = 1;
      if (rc < 0) done_b = -1;
    }
    zero.tv_sec = 0;
    zero.tv_usec = 1000;
    if (!done_c) {
      int rc = cr_poll_checkpoint(&hc, &zero);
      CHECK(rc == 0 || rc == 1);
      if (rc != 0) done_c = 1;
      if (rc < 0) done_c = -1;
    }
  }
  CHECK(done_b == 1 && done_c == 1);
  CHECK(hb == (cr_checkpoint_handle_t)-1 && hc == (cr_checkpoint_handle_t)-1);
  close(image_b);
  close(image_c);
  go();
  read_until(fb, NULL, after_b, sizeof after_b);
  read_until(fc, NULL, after_c, sizeof after_c);
  fclose(fb);
  fclose(fc);
  finish(b);
  finish(c);
  CHECK_EQ_STR(after_b, after);
  CHECK_EQ_STR(after_c, after);
  restart(tools, restart_opts, nopts, "b.img", rest, sizeof rest, &status);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ_STR(rest, after);
  restart(tools, restart_opts, nopts, "c.img", rest, sizeof rest, &status);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ_STR(rest, after);

  /* A PROC target named by one of its threads' ids; the request's positive signal
     (SIGSTOP here) is sent after the checkpoint, a negative one right after the image is
     written. (Stop signals: a signal that kills the target makes today's server report
     ESRCH for a checkpoint that was written.) */
  unlink(gopath);
  char *threaded[] = {subject_path, (char *)"go", (char *)"thread", NULL};
  static char before_d[8192], after_d[8192];
  pid_t d;
  FILE *fd_out = start(threaded, &d);
  read_until(fd_out, "waiting\n", before_d, sizeof before_d);
  int tid = 0;
  CHECK(sscanf(before_d, "thread %d", &tid) == 1 && tid > 0 && tid != d);
  int image_d = open_image("d.img");
  cr_checkpoint_args_t args;
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = CR_SCOPE_PROC;
  args.cr_target = tid;
  args.cr_fd = image_d;
  args.cr_signal = SIGSTOP;
  cr_checkpoint_handle_t hd;
  CHECK_EQ_INT(cr_request_checkpoint(&args, &hd), 0);
  CHECK_EQ_INT(poll_explained(&hd, "target named by a thread id, cr_signal SIGSTOP"), 1);
  close(image_d);
  CHECK(waitpid(d, &status, WUNTRACED) == d && WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
  go();
  kill(d, SIGCONT);
  read_until(fd_out, NULL, after_d, sizeof after_d);
  fclose(fd_out);
  status = finish(d);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ_STR(after_d, after);
  restart(tools, restart_opts, nopts, "d.img", rest, sizeof rest, &status);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ_STR(rest, after);

  unlink(gopath);
  pid_t e;
  static char before_e[8192], after_e[8192];
  FILE *fe = start(subject, &e);
  read_until(fe, "waiting\n", before_e, sizeof before_e);
  cr_initialize_checkpoint_args_t(&args);
  args.cr_scope = CR_SCOPE_TREE;
  args.cr_target = e;
  args.cr_fd = open("/dev/null", O_WRONLY);
  args.cr_signal = -SIGSTOP;
  cr_checkpoint_handle_t he;
  CHECK_EQ_INT(cr_request_checkpoint(&args, &he), 0);
  CHECK_EQ_INT(poll_explained(&he, "cr_signal -SIGSTOP"), 1);
  close(args.cr_fd);
  CHECK(waitpid(e, &status, WUNTRACED) == e && WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
  go();
  kill(e, SIGCONT);
  read_until(fe, NULL, after_e, sizeof after_e);
  fclose(fe);
  status = finish(e);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ_STR(after_e, after);

  return check_done("request_other.c");
}
