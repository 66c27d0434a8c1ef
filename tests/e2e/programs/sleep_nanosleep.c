/* nanosleep(3 s) interrupted by checkpoint/restart still sleeps the full time. */
#define _GNU_SOURCE
#include "crtest.h"

#include <errno.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void) {
    t_puts("sleeping");
    double t0 = now();
    struct timespec req = {3, 0}, rem;
    t_mark("SLEEP");
    while (nanosleep(&req, &rem) != 0) {
        t_assert(errno == EINTR);
        req = rem;
    }
    double dt = now() - t0;
    t_puts("slept");
    t_printf("slept at least 3 s: %d", dt >= 2.999);
    if (dt < 2.999)
        t_printf("elapsed %.3f s", dt);
    t_pass();
}
