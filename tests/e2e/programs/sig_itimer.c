/* A running ITIMER_REAL (50 ms interval) keeps firing after
 * checkpoint/restart, with the same interval. */
#define _GNU_SOURCE
#include "crtest.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static volatile sig_atomic_t ticks;

static void on_alarm(int sig) {
    (void)sig;
    ticks++;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps in 5 ms steps until ticks >= target; fails after 5 s. */
static void wait_ticks(int target) {
    double deadline = now() + 5.0;
    while (ticks < target) {
        if (now() > deadline) {
            t_printf("timer lost: ticks=%d target=%d", (int)ticks, target);
            exit(1);
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    t_assert(sigaction(SIGALRM, &sa, NULL) == 0);

    struct itimerval it = {{0, 50000}, {0, 50000}};
    t_assert(setitimer(ITIMER_REAL, &it, NULL) == 0);
    wait_ticks(5);
    t_puts("reached 5 ticks");

    t_checkpoint_point(1);

    struct itimerval cur;
    t_assert(getitimer(ITIMER_REAL, &cur) == 0);
    t_printf("interval %ld.%06ld armed %d", (long)cur.it_interval.tv_sec,
             (long)cur.it_interval.tv_usec,
             cur.it_value.tv_sec != 0 || cur.it_value.tv_usec != 0);
    int base = ticks;
    double t0 = now();
    wait_ticks(base + 15);
    double dt = now() - t0;
    /* 15 ticks need at least 14 full intervals (0.7 s). */
    t_printf("15 more ticks, interval respected: %d", dt >= 0.65);
    if (dt < 0.65)
        t_printf("elapsed %.3f s", dt);
    t_puts("ticks done");
    t_pass();
}
