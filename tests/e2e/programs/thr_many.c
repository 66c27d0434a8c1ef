/* 200 threads, each blocked on one condvar at the checkpoint. After the point
 * main broadcasts; each thread adds its index to a sum and returns a value
 * derived from its index and its __thread copy of it. */
#define _GNU_SOURCE
#include "crtest.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#define NTHREADS 200

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t main_cv = PTHREAD_COND_INITIALIZER;
static int waiting, go, count;
static long sum;
static __thread int my_index = -1;

static void *run(void *arg) {
    int idx = (int)(intptr_t)arg;
    my_index = idx;
    volatile int on_stack = idx * 7;   /* must survive on this thread's stack */
    t_assert(pthread_mutex_lock(&mu) == 0);
    waiting++;
    if (waiting == NTHREADS)
        t_assert(pthread_cond_signal(&main_cv) == 0);
    while (!go)
        t_assert(pthread_cond_wait(&go_cv, &mu) == 0);
    sum += my_index;
    count++;
    t_assert(pthread_mutex_unlock(&mu) == 0);
    return (void *)(intptr_t)(my_index == idx && on_stack == idx * 7 ? idx * 2 + 1 : -1);
}

int main(void) {
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    t_assert(pthread_sigmask(SIG_BLOCK, &usr2, NULL) == 0);

    /* Default (8 MiB, mostly untouched) stacks. */
    static pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        t_assert(pthread_create(&th[i], NULL, run, (void *)(intptr_t)i) == 0);

    t_assert(pthread_mutex_lock(&mu) == 0);
    while (waiting != NTHREADS)
        t_assert(pthread_cond_wait(&main_cv, &mu) == 0);
    t_assert(pthread_mutex_unlock(&mu) == 0);
    t_printf("%d threads waiting", NTHREADS);

    t_checkpoint_point(1);

    t_assert(pthread_mutex_lock(&mu) == 0);
    t_printf("after point: sum %ld count %d", sum, count);
    go = 1;
    t_assert(pthread_cond_broadcast(&go_cv) == 0);
    t_assert(pthread_mutex_unlock(&mu) == 0);

    long rets = 0;
    int bad = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *ret;
        t_assert(pthread_join(th[i], &ret) == 0);
        if ((intptr_t)ret != i * 2 + 1)
            bad++;
        rets += (intptr_t)ret;
    }
    t_printf("sum %ld count %d", sum, count);
    t_printf("joined %d threads: return sum %ld, bad returns %d", NTHREADS, rets, bad);
    t_pass();
}
