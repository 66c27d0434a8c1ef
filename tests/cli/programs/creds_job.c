// creds_job fork|thread [mixed] [FILE]
//
// Test subject for the credential tests: a job of two processes (fork) or two threads
// (thread). Each task prints its credentials as /proc/thread-self/status shows them
// (Uid, Gid, Groups, Cap*) and its securebits before it waits and again after it is released, so that
// the output of a restarted run equals an uninterrupted one only when every task came
// back with its own credentials. The main thread waits for SIGUSR2 in sigwaitinfo; the
// second task waits in read() on a pipe until the main thread releases it.
//
// mixed (started as root): before waiting, the tasks take different ids with raw
// syscalls (per thread; glibc's wrappers would change every thread): the main task
// uid/gid 65534 everywhere, no groups; the second task real/effective/saved/fs uids
// 65534/65533/65532/65532, gids 65534/65533/65532/65532, groups 4 and 24.
// FILE: opened read-only and kept open while waiting (tests of what a restart may open);
// sock:PATH instead binds a listening unix socket at PATH and keeps it.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int mixed;
static int release[2], ready[2];

static void say(const char* who, const char* when) {
  char status[8192];
  int fd = open("/proc/thread-self/status", O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, status, sizeof status - 1);
  if (fd >= 0) close(fd);
  if (n <= 0) {
    perror("status");
    exit(1);
  }
  status[n] = '\0';
  char out[4096];
  int len = snprintf(out, sizeof out, "%s %s:", who, when);
  static const char* const keys[] = {"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"};
  for (char* line = strtok(status, "\n"); line; line = strtok(NULL, "\n"))
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; ++k)
      if (strncmp(line, keys[k], strlen(keys[k])) == 0) len += snprintf(out + len, sizeof out - len, " [%s]", line);
  len += snprintf(out + len, sizeof out - len, " [Securebits: %#x]", (unsigned)prctl(PR_GET_SECUREBITS));
  out[len++] = '\n';
  if (write(1, out, len) != len) exit(1);
}

static void take_ids(int second) {
  if (!mixed) return;
  if (second) {
    gid_t groups[] = {4, 24};
    if (syscall(SYS_setgroups, 2, groups) || syscall(SYS_setresgid, 65534, 65533, 65532) ||
        syscall(SYS_setresuid, 65534, 65533, 65532)) {
      perror("second task's ids");
      exit(1);
    }
    syscall(SYS_setfsgid, 65532);
    syscall(SYS_setfsuid, 65532);
  } else if (syscall(SYS_setgroups, 0, NULL) || syscall(SYS_setresgid, 65534, 65534, 65534) ||
             syscall(SYS_setresuid, 65534, 65534, 65534)) {
    perror("main task's ids");
    exit(1);
  }
}

static int wait_usr2(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  for (;;) {
    int sig = sigwaitinfo(&set, NULL);
    if (sig == SIGUSR2) return 0;
  }
}

static void second_task(const char* who) {
  say(who, "before");
  if (write(ready[1], "r", 1) != 1) exit(1);
  char byte;
  while (read(release[0], &byte, 1) != 1) {
  }
  say(who, "after");
}

static void* thread_main(void* arg) {
  (void)arg;
  take_ids(1);
  second_task("thread");
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  int forked = strcmp(argv[1], "fork") == 0;
  mixed = argc > 2 && strcmp(argv[2], "mixed") == 0;
  const char* file = argc > 3 ? argv[3] : argc > 2 && !mixed ? argv[2] : NULL;
  int held = -1;
  if (file && strncmp(file, "sock:", 5) == 0) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", file + 5);
    held = socket(AF_UNIX, SOCK_STREAM, 0);
    if (held < 0 || bind(held, (struct sockaddr*)&addr, sizeof addr) || listen(held, 1)) {
      perror(file);
      return 1;
    }
  } else if (file && (held = open(file, O_RDONLY)) < 0) {
    perror(file);
    return 1;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, NULL);
  if (pipe(release)) return 1;
  say("main", "start");
  // The second task first, so that the output's order does not depend on scheduling.
  pid_t child = -1;
  pthread_t thread;
  if (pipe(ready)) return 1;
  if (forked) {
    child = fork();
    if (child == 0) {
      take_ids(1);
      second_task("child");
      _exit(3);
    }
  } else if (pthread_create(&thread, NULL, thread_main, NULL) != 0) {
    return 1;
  }
  char byte;
  if (read(ready[0], &byte, 1) != 1) return 1;
  take_ids(0);
  say("main", "before");
  wait_usr2();
  if (write(release[1], "g", 1) != 1) return 1;
  if (forked) {
    int status = 0;
    waitpid(-1, &status, 0);  /* not by pid: --no-restore-pid gives the child a new one */
    printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    fflush(stdout);
  } else {
    pthread_join(thread, NULL);
  }
  say("main", "after");
  if (held >= 0) close(held);
  return 0;
}
