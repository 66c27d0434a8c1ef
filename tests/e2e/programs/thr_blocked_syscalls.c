/* Threads blocked in different syscalls across the checkpoint: read() on a
 * pipe, poll() with a 60 s timeout on another pipe, nanosleep (2 s) and a
 * futex via sem_wait. Main waits (via /proc/self/task/TID/syscall) until each
 * is blocked, sits at the point, checks they are blocked again afterwards and
 * then releases them one by one in a fixed order; each thread prints what it
 * got. EINTR (or any early return) anywhere is printed, so it fails the test. */
#define _GNU_SOURCE
#include "crtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { T_READ, T_POLL, T_SLEEP, T_SEM, NT };
static const char *const names[NT] = {"reader", "poller", "sleeper", "sem waiter"};

static int pipe_r[2], pipe_p[2];
static sem_t sem;
static volatile pid_t tids[NT];
static const long SLEEP_NS = 2000000000L;

static double now(void) {
    struct timespec ts;
    t_assert(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *reader(void *arg) {
    (void)arg;
    tids[T_READ] = (pid_t)syscall(SYS_gettid);
    char buf[64];
    ssize_t n = read(pipe_r[0], buf, sizeof buf - 1);
    if (n < 0) {
        t_printf("reader: read failed: %s%s", strerror(errno), errno == EINTR ? " (EINTR)" : "");
        return NULL;
    }
    buf[n] = '\0';
    t_printf("reader: read %zd bytes '%s'", n, buf);
    return NULL;
}

static void *poller(void *arg) {
    (void)arg;
    tids[T_POLL] = (pid_t)syscall(SYS_gettid);
    struct pollfd pfd = {.fd = pipe_p[0], .events = POLLIN};
    int r = poll(&pfd, 1, 60000);
    if (r < 0) {
        t_printf("poller: poll failed: %s%s", strerror(errno), errno == EINTR ? " (EINTR)" : "");
        return NULL;
    }
    t_printf("poller: poll returned %d revents POLLIN=%d", r, (pfd.revents & POLLIN) != 0);
    if (r == 1) {
        char buf[64];
        ssize_t n = read(pipe_p[0], buf, sizeof buf - 1);
        t_assert(n >= 0);
        buf[n] = '\0';
        t_printf("poller: read %zd bytes '%s'", n, buf);
    }
    return NULL;
}

static void *sleeper(void *arg) {
    (void)arg;
    tids[T_SLEEP] = (pid_t)syscall(SYS_gettid);
    struct timespec req = {SLEEP_NS / 1000000000L, SLEEP_NS % 1000000000L}, rem = {0, 0};
    double t0 = now();
    int r = nanosleep(&req, &rem);
    double slept = now() - t0;
    if (r < 0) {
        t_printf("sleeper: nanosleep failed: %s%s (remaining %ld.%09ld)", strerror(errno),
                 errno == EINTR ? " (EINTR)" : "", (long)rem.tv_sec, rem.tv_nsec);
        return NULL;
    }
    t_printf("sleeper: nanosleep returned 0, slept at least the requested time %d",
             slept >= SLEEP_NS * 1e-9 - 0.001);
    return NULL;
}

static void *sem_waiter(void *arg) {
    (void)arg;
    tids[T_SEM] = (pid_t)syscall(SYS_gettid);
    int r = sem_wait(&sem);
    if (r < 0) {
        t_printf("sem waiter: sem_wait failed: %s%s", strerror(errno),
                 errno == EINTR ? " (EINTR)" : "");
        return NULL;
    }
    int v = -1;
    t_assert(sem_getvalue(&sem, &v) == 0);
    t_printf("sem waiter: sem_wait returned 0, value now %d", v);
    return NULL;
}

/* Syscall number thread tid is blocked in, -1 if running/unknown, -2 if the
 * thread is gone. */
static long task_syscall(pid_t tid) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return -2;
    t_assert(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    t_assert(close(fd) == 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    if (buf[0] < '0' || buf[0] > '9')
        return -1;
    return strtol(buf, NULL, 10);
}

static int blocked_as_expected(int t, long nr) {
    switch (t) {
    case T_READ:
        return nr == SYS_read;
    case T_POLL:
        return nr == SYS_poll || nr == SYS_ppoll || nr == SYS_restart_syscall;
    case T_SLEEP:
        return nr == SYS_nanosleep || nr == SYS_clock_nanosleep || nr == SYS_restart_syscall;
    case T_SEM:
        return nr == SYS_futex;
    }
    return 0;
}

/* Waits (up to 10 s) until each thread in mask is blocked where expected. */
static void wait_blocked(unsigned mask, const char *when) {
    double limit = now() + 10.0;
    for (int t = 0; t < NT; t++) {
        if (!(mask & (1u << t)))
            continue;
        long nr = -1;
        while (tids[t] == 0 || !blocked_as_expected(t, nr = task_syscall(tids[t]))) {
            if (nr == -2 || now() > limit) {
                t_printf("%s: %s not blocked as expected (%s %ld)", when, names[t],
                         nr == -2 ? "thread gone" : "syscall", nr);
                return;
            }
            usleep(2000);
        }
    }
    t_printf("%s: threads blocked as expected", when);
}

int main(void) {
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    t_assert(pthread_sigmask(SIG_BLOCK, &usr2, NULL) == 0);

    t_assert(pipe2(pipe_r, O_CLOEXEC) == 0);
    t_assert(pipe2(pipe_p, O_CLOEXEC) == 0);
    t_assert(sem_init(&sem, 0, 0) == 0);

    void *(*fns[NT])(void *) = {reader, poller, sleeper, sem_waiter};
    pthread_t th[NT];
    for (int t = 0; t < NT; t++)
        t_assert(pthread_create(&th[t], NULL, fns[t], NULL) == 0);
    wait_blocked(0xf, "before point");

    t_checkpoint_point(1);

    /* The sleeper may legitimately have finished its sleep by now. */
    wait_blocked((1u << T_READ) | (1u << T_POLL) | (1u << T_SEM), "after point");

    t_puts("main: joining sleeper");
    t_assert(pthread_join(th[T_SLEEP], NULL) == 0);

    t_puts("main: writing to the reader's pipe");
    t_assert(write(pipe_r[1], "for reader", 10) == 10);
    t_assert(pthread_join(th[T_READ], NULL) == 0);

    t_puts("main: writing to the poller's pipe");
    t_assert(write(pipe_p[1], "for poller", 10) == 10);
    t_assert(pthread_join(th[T_POLL], NULL) == 0);

    t_puts("main: posting the semaphore");
    t_assert(sem_post(&sem) == 0);
    t_assert(pthread_join(th[T_SEM], NULL) == 0);

    t_pass();
}
