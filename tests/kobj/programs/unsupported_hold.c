/* Holds one kind of state crest does not restore yet, then waits to be checkpointed
 * (check_unsupported_refused.py): prints "READY" once it holds it, then pause()s.
 * Usage: unsupported_hold CASE DIR   (DIR: a scratch directory for the lock file)
 * Cases: timer (on a CPU-time clock of a pid), lease_breaking (a write lease on fd 7 that an open
 * for reading is breaking: it stays so for the lease break time, 45 s by default), seccomp, aio,
 * timens. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "unsupported_hold: %s failed: %s\n", #cond, strerror(errno)); \
            exit(2);                                                          \
        }                                                                     \
    } while (0)

static int lock_file(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/locked", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0);
    CHECK(dup2(fd, 7) == 7);
    close(fd);
    return 7;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: unsupported_hold CASE DIR\n");
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "timer")) {
        /* on a CPU-time clock of a given pid (restored timers are on the other clocks) */
        struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
        timer_t t;
        clockid_t clock;
        CHECK(clock_getcpuclockid(getpid(), &clock) == 0);
        CHECK(timer_create(clock, &ev, &t) == 0);
        struct itimerspec its = {{0, 0}, {600, 0}};
        CHECK(timer_settime(t, 0, &its, NULL) == 0);
    } else if (!strcmp(c, "lease_breaking")) {
        int fd = lock_file(argv[2]);
        CHECK(signal(SIGIO, SIG_IGN) != SIG_ERR);  /* the break notice */
        CHECK(fcntl(fd, F_SETLEASE, F_WRLCK) == 0);
        char path[4096];
        snprintf(path, sizeof path, "%s/locked", argv[2]);
        CHECK(open(path, O_RDONLY | O_NONBLOCK) < 0 && errno == EWOULDBLOCK);
    } else if (!strcmp(c, "seccomp")) {
        struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog prog = {1, allow};
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
        CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0);
    } else if (!strcmp(c, "aio")) {
        aio_context_t ctx = 0;
        CHECK(syscall(SYS_io_setup, 8, &ctx) == 0);
    } else if (!strcmp(c, "timens")) {
        CHECK(unshare(CLONE_NEWTIME) == 0);
    } else {
        fprintf(stderr, "unsupported_hold: unknown case %s\n", c);
        return 2;
    }
    printf("READY\n");
    fflush(stdout);
    for (;;)
        pause();
}
