/* BLCR's restart-request API (issue 4, item 4): cr_request_restart() of an image, then
 * cr_poll_restart() for the leader's pid; the leader must be OUR child (waitpid works on
 * it) and, with CR_RSTRT_RESTORE_PID, have its original pid.
 *
 *   restart_api IMAGE EXPECTED_PID|0 EXPECTED_EXIT [OLD NEW]
 *
 * With OLD NEW, the request carries a one-entry relocation table (cr_relocate).
 *
 * Also checks the argument errors (bad version: EINVAL, bad fd: EBADF) and that a corrupt
 * image is accepted as a request and then fails at the poll with ERR_POST and a log. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <libcr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(cond, ...)                                  \
  do {                                                    \
    if (!(cond)) {                                        \
      fprintf(stderr, "restart_api:%d: ", __LINE__);      \
      fprintf(stderr, __VA_ARGS__);                       \
      fprintf(stderr, "\n");                              \
      ++failures;                                         \
    }                                                     \
  } while (0)

static pid_t parent_of(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *close_paren = strrchr(buf, ')');
  if (!close_paren) return -1;
  char state;
  int ppid;
  if (sscanf(close_paren + 2, "%c %d", &state, &ppid) != 2) return -1;
  return ppid;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 6) {
    fprintf(stderr, "usage: restart_api IMAGE EXPECTED_PID|0 EXPECTED_EXIT [OLD NEW]\n");
    return 2;
  }
  const pid_t expected_pid = atoi(argv[2]);
  const int expected_exit = atoi(argv[3]);
  cr_restart_args_t args;
  cr_restart_handle_t h;

  /* Argument errors. */
  cr_initialize_restart_args_t(&args);
  CHECK(args.cr_fd == -1 && args.cr_signal == 0 && args.cr_flags == CR_RSTRT_RESTORE_PID && args.cr_relocate == NULL,
        "restart args defaults");
  args.cr_version = 2;
  args.cr_fd = 0;
  errno = 0;
  CHECK(cr_request_restart(&args, &h) == -1 && errno == EINVAL, "bad version: errno %d", errno);
  cr_initialize_restart_args_t(&args);
  args.cr_fd = 1000;
  errno = 0;
  CHECK(cr_request_restart(&args, &h) == -1 && errno == EBADF, "bad fd: errno %d", errno);

  /* A corrupt image: accepted, then ERR_POST at the poll, with a message in the log. The
     second time with SIGCHLD ignored, so that the kernel reaps cr_restart itself: the
     request's errno must survive libcr's own reap of it (ECHILD there). */
  int corrupt_errno = 0;
  for (int ignore_chld = 0; ignore_chld <= 1; ++ignore_chld) {
    signal(SIGCHLD, ignore_chld ? SIG_IGN : SIG_DFL);
    char garbage_path[] = "/tmp/crest-restart-api-XXXXXX";
    int g = mkstemp(garbage_path);
    CHECK(g >= 0 && write(g, "not an image at all, not at all...", 34) == 34, "garbage file");
    lseek(g, 0, SEEK_SET);
    unlink(garbage_path);
    cr_initialize_restart_args_t(&args);
    args.cr_fd = g;
    int rc = cr_request_restart(&args, &h);
    CHECK(rc == 0, "request on a corrupt image: rc %d errno %d (the image is read later)", rc, errno);
    if (rc == 0) {
      char *msg = NULL;
      int polled;
      do polled = cr_poll_restart_msg(&h, NULL, &msg);
      while (polled == CR_POLL_RSTRT_ERR_PRE && errno == EINTR);
      CHECK(polled == CR_POLL_RSTRT_ERR_POST && errno != 0 && errno != ECHILD, "corrupt image poll (SIGCHLD %s): %d errno %d",
            ignore_chld ? "ignored" : "default", polled, errno);
      if (!ignore_chld) corrupt_errno = errno;
      else CHECK(errno == corrupt_errno, "SIGCHLD ignored: errno %d, %d with SIGCHLD default", errno, corrupt_errno);
      CHECK(msg != NULL && strlen(msg) > 0, "corrupt image: no log message");
      free(msg);
    }
    close(g);
  }
  signal(SIGCHLD, SIG_DFL);

  /* The real restart. */
  int fd = open(argv[1], O_RDONLY);
  CHECK(fd >= 0, "open %s: %s", argv[1], strerror(errno));
  cr_initialize_restart_args_t(&args);
  args.cr_fd = fd;
  if (expected_pid == 0) args.cr_flags = 0;  /* fresh pids */
  char table_space[CR_RSTRT_RELOCATE_SIZE(1)];
  struct cr_rstrt_relocate *table = (struct cr_rstrt_relocate *)table_space;
  if (argc == 6) {
    table->count = 1;
    table->path[0].oldpath = argv[4];
    table->path[0].newpath = argv[5];
    args.cr_relocate = table;
  }
  int rc = cr_request_restart(&args, &h);
  CHECK(rc == 0, "cr_request_restart: %s", cr_strerror(errno));
  if (rc != 0) return 1;
  struct timeval zero = {0, 0};
  int polled = cr_poll_restart(&h, &zero);  /* bounded: may or may not be done yet */
  while (polled == 0 || (polled == CR_POLL_RSTRT_ERR_PRE && errno == EINTR))
    polled = cr_poll_restart(&h, NULL);
  CHECK(polled > 0, "cr_poll_restart: %d errno %d (%s)", polled, errno, cr_strerror(errno));
  if (polled <= 0) return 1;
  pid_t leader = polled;
  if (expected_pid) CHECK(leader == expected_pid, "leader %d, expected the original pid %d", leader, expected_pid);
  CHECK(parent_of(leader) == getpid(), "leader %d's parent is %d, not us (%d)", leader, parent_of(leader), getpid());
  int status = 0;
  pid_t w = waitpid(leader, &status, 0);
  CHECK(w == leader, "waitpid(%d): %s", leader, strerror(errno));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == expected_exit, "leader status 0x%x, expected exit %d", status, expected_exit);
  close(fd);
  if (failures) return 1;
  printf("restart_api: leader is my child and exited %d\n", expected_exit);
  return 0;
}
