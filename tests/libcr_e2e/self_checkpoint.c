/* BLCR's common self-checkpoint pattern (issue 4, item 2), exactly as applications wrote
 * it: open NAME.new, request a checkpoint of ourselves into it, poll with a NULL timeout
 * retrying on EINTR, tell "restarted" from "continued", and on the continue path fsync and
 * rename NAME.new over NAME.
 *
 *   self_checkpoint NAME SCOPE     SCOPE: proc | tree (tree: with a worker child)
 *
 * Prints a deterministic series of lines; the line at the checkpoint says "continued" in
 * the original run and "restarted" in a restarted copy. Exit status 7 (a restarted copy
 * must mirror it through cr_restart). */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libcr.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (write(1, line, (size_t)n) != n) _exit(90);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: self_checkpoint NAME proc|tree\n");
    return 2;
  }
  const char *name = argv[1];
  const int tree = strcmp(argv[2], "tree") == 0;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.new", name);

  if (cr_init() < 0) {
    fprintf(stderr, "cr_init: %s\n", cr_strerror(errno));
    return 3;
  }
  /* The worker child (tree scope) adds to a pipe-fed total: it must come back too. */
  int to_child[2] = {-1, -1}, from_child[2] = {-1, -1};
  pid_t child = -1;
  if (tree) {
    if (pipe(to_child) || pipe(from_child)) return 4;
    child = fork();
    if (child == 0) {
      close(to_child[1]);
      close(from_child[0]);
      long v, total = 0;
      while (read(to_child[0], &v, sizeof v) == sizeof v) {
        total += v * v;
        if (write(from_child[1], &total, sizeof total) != sizeof total) _exit(91);
      }
      _exit(0);
    }
    close(to_child[0]);
    close(from_child[1]);
  }

  unsigned long sum = 1;
  for (long i = 0; i < 24; ++i) {
    sum = sum * 31 + (unsigned long)i;
    long total = 0;
    if (tree) {
      if (write(to_child[1], &i, sizeof i) != sizeof i) return 5;
      if (read(from_child[0], &total, sizeof total) != sizeof total) return 6;
    }
    say("step %ld sum %lu total %ld\n", i, sum, total);
    if (i == 12) {
      int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0) { perror(tmp); return 8; }
      cr_checkpoint_args_t args;
      cr_initialize_checkpoint_args_t(&args);
      args.cr_fd = fd;
      args.cr_scope = tree ? CR_SCOPE_TREE : CR_SCOPE_PROC;
      cr_checkpoint_handle_t handle;
      if (cr_request_checkpoint(&args, &handle) != 0) {
        fprintf(stderr, "cr_request_checkpoint: %s\n", cr_strerror(errno));
        return 9;
      }
      int interrupted = 0;
      for (;;) {
        int rc = cr_poll_checkpoint(&handle, NULL);
        if (rc < 0) {
          if (rc == CR_POLL_CHKPT_ERR_POST && errno == CR_ERESTARTED) {
            /* The image's own descriptor is not part of the image: closed here. */
            int open_here = fcntl(fd, F_GETFD) >= 0;
            say("restarted (image fd %s, status %d)\n", open_here ? "open" : "closed", cr_status());
            break;
          }
          if (errno == EINTR) { ++interrupted; continue; }
          fprintf(stderr, "cr_poll_checkpoint: rc %d: %s\n", rc, cr_strerror(errno));
          return 10;
        }
        if (rc == 0) {
          fprintf(stderr, "cr_poll_checkpoint returned 0 with a NULL timeout\n");
          return 11;
        }
        if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, name) != 0) {
          perror("fsync/close/rename");
          return 12;
        }
        say("continued (image fd %s, status %d)\n", "closed", cr_status());
        break;
      }
      (void)interrupted;
    }
    usleep(10000);
  }
  if (tree) {
    close(to_child[1]);
    int st;
    if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 13;
  }
  say("done sum %lu\n", sum);
  return 7;
}
