/* The main thread is blocked in pthread_join on thread C while C sits at the
 * checkpoint point (rt_sigsuspend); C's own child G is blocked in
 * pthread_cond_wait, and thread D has already exited but is not yet joined.
 * After the point C wakes G, joins it and returns, which must wake main
 * through C's clear_child_tid futex. Every thread but C (at its point) blocks
 * SIGUSR2, so the runner's process-directed SIGUSR2 reaches C.
 * Run with --point-thread any: the point is not in the main thread. */
#define _GNU_SOURCE
#include "crtest.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

static __thread int logical = 0;   /* 0 main, 1 C, 2 G, 3 D */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int g_waiting, g_go;
static volatile pid_t d_tid;

static void *thread_g(void *arg) {
    logical = 2;
    t_assert(pthread_mutex_lock(&mu) == 0);
    g_waiting = 1;
    t_assert(pthread_cond_broadcast(&cv) == 0);
    while (!g_go)
        t_assert(pthread_cond_wait(&cv, &mu) == 0);
    t_assert(pthread_mutex_unlock(&mu) == 0);
    t_printf("G (logical %d): woken, returning", logical);
    return (void *)((intptr_t)arg * 3);
}

static void *thread_c(void *arg) {
    (void)arg;
    logical = 1;
    pthread_t g;
    t_assert(pthread_create(&g, NULL, thread_g, (void *)(intptr_t)7) == 0);
    t_assert(pthread_mutex_lock(&mu) == 0);
    while (!g_waiting)
        t_assert(pthread_cond_wait(&cv, &mu) == 0);
    t_assert(pthread_mutex_unlock(&mu) == 0);
    t_printf("C (logical %d): G waiting, going to the point", logical);

    t_checkpoint_point(1);

    t_printf("C (logical %d): after point", logical);
    t_assert(pthread_mutex_lock(&mu) == 0);
    g_go = 1;
    t_assert(pthread_cond_broadcast(&cv) == 0);
    t_assert(pthread_mutex_unlock(&mu) == 0);
    void *ret;
    t_assert(pthread_join(g, &ret) == 0);
    t_printf("C (logical %d): joined G -> %d", logical, (int)(intptr_t)ret);
    return (void *)((intptr_t)ret + 100);
}

static void *thread_d(void *arg) {
    logical = 3;
    d_tid = (pid_t)syscall(SYS_gettid);
    t_printf("D (logical %d): exiting", logical);
    return arg;
}

int main(void) {
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    t_assert(pthread_sigmask(SIG_BLOCK, &usr2, NULL) == 0);

    /* D exits before the checkpoint and is joined only after it. */
    pthread_t d;
    t_assert(pthread_create(&d, NULL, thread_d, (void *)(intptr_t)42) == 0);
    while (d_tid == 0 || syscall(SYS_tgkill, getpid(), d_tid, 0) == 0 || errno != ESRCH)
        usleep(1000);
    t_puts("main: D has exited (not joined)");

    pthread_t c;
    t_assert(pthread_create(&c, NULL, thread_c, NULL) == 0);
    void *ret;
    t_assert(pthread_join(c, &ret) == 0);
    t_printf("main (logical %d): joined C -> %d", logical, (int)(intptr_t)ret);
    t_assert(pthread_join(d, &ret) == 0);
    t_printf("main (logical %d): joined D -> %d", logical, (int)(intptr_t)ret);
    t_pass();
}
