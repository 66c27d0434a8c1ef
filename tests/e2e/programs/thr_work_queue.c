/* 16 worker threads consume a mutex/condvar work queue that main fills in
 * rounds. Point 1: every worker is blocked in pthread_cond_wait on an empty
 * queue. Point 2: workers are busy computing heavy items (integer and FP).
 * Results are checked per round in a fixed order; which worker ran which item
 * is not printed. Every thread but main blocks SIGUSR2. */
#define _GNU_SOURCE
#include "crtest.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NWORKERS 16
#define MAXITEMS 128
#define NROUNDS 4

struct item {
    int round;
    int index;
    uint64_t iters;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER;   /* workers wait */
static pthread_cond_t main_cv = PTHREAD_COND_INITIALIZER;   /* main waits */
static struct item queue[MAXITEMS];
static int head, tail;          /* queue[head..tail) pending */
static int idle;                /* workers blocked waiting for work */
static int done;                /* items finished in the current round */
static int quit;
static uint64_t results[NROUNDS][MAXITEMS];

static __thread int worker_index = -1;
static __thread uint64_t worker_items;   /* items this thread computed */

/* Deterministic mix of integer and double arithmetic. */
static uint64_t compute(const struct item *it) {
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)(it->round * 1000 + it->index);
    double x = 1.0 + it->index * 0.125;
    for (uint64_t i = 0; i < it->iters; i++) {
        h = (h ^ (i & 0xff)) * 1099511628211ULL;
        x = x * 1.0000001 + 0.5 / (double)(i + 1);
        if (x > 1e6)
            x *= 1e-6;
    }
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return h ^ (bits * 31);
}

static void *worker(void *arg) {
    worker_index = (int)(intptr_t)arg;
    t_assert(pthread_mutex_lock(&mu) == 0);
    for (;;) {
        while (!quit && head == tail) {
            idle++;
            if (idle == NWORKERS)
                t_assert(pthread_cond_signal(&main_cv) == 0);
            t_assert(pthread_cond_wait(&work_cv, &mu) == 0);
            idle--;
        }
        if (head == tail)
            break;   /* quit and nothing left */
        struct item it = queue[head++];
        t_assert(pthread_mutex_unlock(&mu) == 0);
        uint64_t r = compute(&it);
        worker_items++;
        t_assert(pthread_mutex_lock(&mu) == 0);
        results[it.round][it.index] = r;
        done++;
        t_assert(pthread_cond_signal(&main_cv) == 0);
    }
    t_assert(pthread_mutex_unlock(&mu) == 0);
    t_assert(worker_index == (int)(intptr_t)arg);
    return (void *)(uintptr_t)worker_items;
}

/* Waits until every worker is blocked on the empty queue. */
static void wait_all_idle(void) {
    t_assert(pthread_mutex_lock(&mu) == 0);
    while (idle != NWORKERS || head != tail)
        t_assert(pthread_cond_wait(&main_cv, &mu) == 0);
    t_assert(pthread_mutex_unlock(&mu) == 0);
}

static void fill(int round, int n, uint64_t iters) {
    t_assert(pthread_mutex_lock(&mu) == 0);
    head = tail = 0;
    done = 0;
    for (int i = 0; i < n; i++)
        queue[tail++] = (struct item){round, i, iters + (uint64_t)i * 17};
    t_assert(pthread_cond_broadcast(&work_cv) == 0);
    t_assert(pthread_mutex_unlock(&mu) == 0);
}

static int wait_round(int n) {
    t_assert(pthread_mutex_lock(&mu) == 0);
    int at_call = done;
    while (done != n)
        t_assert(pthread_cond_wait(&main_cv, &mu) == 0);
    t_assert(pthread_mutex_unlock(&mu) == 0);
    return at_call;
}

static void report(int round, int n) {
    uint64_t x = 0, sum = 0;
    for (int i = 0; i < n; i++) {
        x ^= results[round][i] * (uint64_t)(i + 1);
        sum += results[round][i] >> 8;
    }
    t_printf("round %d: %d items xor %016llx sum %016llx", round, n,
             (unsigned long long)x, (unsigned long long)sum);
}

int main(void) {
    /* Threads inherit this: only main (inside t_checkpoint_point) takes SIGUSR2. */
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    t_assert(pthread_sigmask(SIG_BLOCK, &usr2, NULL) == 0);

    pthread_t th[NWORKERS];
    for (int i = 0; i < NWORKERS; i++)
        t_assert(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0);
    t_printf("started %d workers", NWORKERS);

    static const struct { int n; uint64_t iters; } rounds[NROUNDS] = {
        {64, 20000}, {100, 5000}, {48, 6000000}, {128, 1000},
    };
    int total = 0;
    for (int r = 0; r < NROUNDS; r++) {
        wait_all_idle();
        if (r == 1) {
            t_printf("point 1: %d workers idle, queue empty", NWORKERS);
            t_checkpoint_point(1);
            t_puts("after point 1");
        }
        fill(r, rounds[r].n, rounds[r].iters);
        if (r == 2) {
            /* Workers are computing heavy items while main sits at point 2. */
            t_puts("point 2: workers computing");
            t_checkpoint_point(2);
            t_puts("after point 2");
        }
        int at = wait_round(rounds[r].n);
        if (r == 2) {
            char msg[80];
            int len = snprintf(msg, sizeof msg, "round 2: %d/%d items done after point 2\n",
                               at, rounds[r].n);
            (void)!write(2, msg, (size_t)len);
        }
        report(r, rounds[r].n);
        total += rounds[r].n;
    }

    wait_all_idle();
    t_assert(pthread_mutex_lock(&mu) == 0);
    quit = 1;
    t_assert(pthread_cond_broadcast(&work_cv) == 0);
    t_assert(pthread_mutex_unlock(&mu) == 0);
    uint64_t joined = 0;
    for (int i = 0; i < NWORKERS; i++) {
        void *ret;
        t_assert(pthread_join(th[i], &ret) == 0);
        joined += (uint64_t)(uintptr_t)ret;
    }
    t_printf("joined %d workers, %llu items computed of %d", NWORKERS,
             (unsigned long long)joined, total);
    t_assert(joined == (uint64_t)total);
    t_pass();
}
