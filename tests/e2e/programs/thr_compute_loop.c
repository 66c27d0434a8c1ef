/* 8 threads each compute a deterministic integer + floating-point sum for
 * about 3 s in total, each under its own rounding mode (per-thread MXCSR);
 * checkpointed at a random moment while they compute (main is in
 * pthread_join). Results are joined and printed in thread order. */
#define _GNU_SOURCE
#include "crtest.h"

#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#define NTHREADS 8
/* About 5 CPU seconds, 2.5-5 s on 2 cores (a LOOPDONE before the random
 * checkpoint delay of at most 1.5 s fails the test). */
#define ITERS 250000000ULL

static const int modes[4] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
static pthread_barrier_t start;

struct result {
    uint64_t h;
    uint64_t xbits;
    int mode_kept;
};
static struct result results[NTHREADS];

static void *run(void *arg) {
    int idx = (int)(intptr_t)arg;
    int mode = modes[idx % 4];
    t_assert(fesetround(mode) == 0);
    pthread_barrier_wait(&start);

    uint64_t h = 1469598103934665603ULL + (uint64_t)idx;
    volatile double step = 1.0000001 + idx * 1e-9;
    double s = step;
    double x = 1.0 + idx;
    for (uint64_t k = 0; k < ITERS; k++) {
        h = (h ^ (k & 0xffff)) * 1099511628211ULL;
        x = x * s + 1.0 / (double)(k + 3);
        if (x > 1e6)
            x *= 1e-6;
    }
    results[idx].h = h;
    memcpy(&results[idx].xbits, &x, sizeof x);
    results[idx].mode_kept = fegetround() == mode;
    return NULL;
}

int main(void) {
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    t_assert(pthread_sigmask(SIG_BLOCK, &usr2, NULL) == 0);

    t_assert(pthread_barrier_init(&start, NULL, NTHREADS + 1) == 0);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        t_assert(pthread_create(&th[i], NULL, run, (void *)(intptr_t)i) == 0);
    t_printf("started %d threads", NTHREADS);
    t_mark("LOOP");
    pthread_barrier_wait(&start);
    for (int i = 0; i < NTHREADS; i++)
        t_assert(pthread_join(th[i], NULL) == 0);
    t_mark("LOOPDONE");
    for (int i = 0; i < NTHREADS; i++)
        t_printf("thread %d: h %016llx x %016llx rounding mode kept %d", i,
                 (unsigned long long)results[i].h, (unsigned long long)results[i].xbits,
                 results[i].mode_kept);
    t_printf("main rounding mode nearest %d", fegetround() == FE_TONEAREST);
    t_pass();
}
