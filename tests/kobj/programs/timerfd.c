/* timerfd state across checkpoint/restart: a periodic 100 ms timer with
 * expirations not yet read at the point, a one-shot 5 s timer still pending
 * at the point, a periodic 3 s one not expired yet at the point and a
 * disarmed non-blocking one. After restart the periodic ones have kept
 * their interval, the 100 ms one its unread expirations, and it keeps
 * expiring; the one-shot fires once, neither early nor late relative to the
 * time left on it. Only checks are printed, never times. */
#include "kobj.h"

#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/timerfd.h>

static int64_t ts_ms(struct timespec t) {
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Blocking read of the expiration count, but gives up (printing so, counting
 * a failed expectation and returning 0) when nothing expires within
 * limit_ms: a lost timer fails the test quickly instead of hanging it. */
static uint64_t read_ticks(int fd, const char *what, int limit_ms) {
    struct pollfd pf = {fd, POLLIN, 0};
    int r;
    while ((r = poll(&pf, 1, limit_ms)) < 0 && errno == EINTR)
        ;
    t_assert(r >= 0);
    if (r == 0) {
        t_printf("%s: NO EXPIRATION within %d ms", what, limit_ms);
        k_failures++;
        return 0;
    }
    uint64_t v = 0;
    t_assert(read(fd, &v, sizeof v) == (ssize_t)sizeof v);
    return v;
}

static uint64_t fdinfo_ticks(int fd) {
    char buf[64];
    t_assert(k_fdinfo(fd, "ticks", buf, sizeof buf) == 0);
    return strtoull(buf, NULL, 10);
}

int main(void) {
    int per = timerfd_create(CLOCK_MONOTONIC, 0);
    int once = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    int off = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    int slow = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
    t_assert(per >= 0 && once >= 0 && off >= 0 && slow >= 0);

    struct itimerspec p = {{0, 100000000}, {0, 100000000}};
    struct itimerspec o = {{0, 0}, {5, 0}};
    int64_t armed = k_now_ms();
    t_assert(timerfd_settime(once, 0, &o, NULL) == 0);
    t_assert(timerfd_settime(per, 0, &p, NULL) == 0);
    /* A periodic timer that has not expired yet at the point. */
    struct itimerspec sl = {{3, 0}, {3, 0}};
    t_assert(timerfd_settime(slow, 0, &sl, NULL) == 0);

    /* Let three or more periods pass without reading them. */
    k_sleep_ms(350);
    /* (fdinfo's ticks count only the first expiration: the kernel adds the
     * overruns at read time.) */
    t_printf("before: periodic expired, unread: %s", k_yes(fdinfo_ticks(per) >= 1));
    struct itimerspec cur;
    t_assert(timerfd_gettime(once, &cur) == 0);
    int64_t left_before = ts_ms(cur.it_value);
    t_printf("before: one-shot pending %s", k_yes(left_before > 0));

    t_checkpoint_point(1);

    /* Periodic: same interval, the unread expirations are still there. */
    t_assert(timerfd_gettime(per, &cur) == 0);
    t_printf("after: periodic interval %lld ms, armed %s", (long long)ts_ms(cur.it_interval),
             k_yes(cur.it_value.tv_sec || cur.it_value.tv_nsec));
    K_EXPECT(ts_ms(cur.it_interval) == 100);
    uint64_t first = read_ticks(per, "periodic first read", 1000);
    t_printf("after: periodic first read >= 3: %s", k_yes(first >= 3));
    if (first < 3)
        t_printf("  (first read returned %" PRIu64 ")", first);
    for (int i = 0; i < 4; i++) {
        int64_t t0 = k_now_ms();
        uint64_t n = read_ticks(per, "periodic read", 1000);
        if (n == 0)
            break;   /* the periodic timer is lost; go on with the others */
        int64_t dt = k_now_ms() - t0;
        /* A blocking read waits at most one period (plus scheduling). */
        t_printf("after: periodic read %d: ticks >= 1 %s, within a period %s", i,
                 k_yes(n >= 1), k_yes(dt <= 150));
        if (dt > 150 || n < 1)
            t_printf("  (ticks %" PRIu64 ", waited %lld ms)", n, (long long)dt);
    }

    /* The periodic timer not expired at the point: still armed, same interval. */
    t_assert(timerfd_gettime(slow, &cur) == 0);
    t_printf("after: unexpired periodic interval %lld ms, armed %s",
             (long long)ts_ms(cur.it_interval), k_yes(cur.it_value.tv_sec || cur.it_value.tv_nsec));
    K_EXPECT(ts_ms(cur.it_interval) == 3000);
    uint64_t v;
    ssize_t r = read(slow, &v, sizeof v);
    int err = errno;
    t_printf("after: unexpired periodic read: %s", r < 0 ? k_errname(err) : "data");
    K_EXPECT(r < 0 && err == EAGAIN);

    /* One-shot: still pending, no more than was left at the point. */
    t_assert(timerfd_gettime(once, &cur) == 0);
    int64_t left = ts_ms(cur.it_value);
    t_printf("after: one-shot pending %s, interval %lld, not more than before %s",
             k_yes(left > 0), (long long)ts_ms(cur.it_interval), k_yes(left <= left_before));
    K_EXPECT(ts_ms(cur.it_interval) == 0);
    if (left > left_before)
        t_printf("  (left %lld ms, %lld ms at the point)", (long long)left,
                 (long long)left_before);
    int64_t t0 = k_now_ms();
    uint64_t n = read_ticks(once, "one-shot", (int)left + 3000);
    int64_t now = k_now_ms();
    int64_t waited = now - t0;
    int on_time = waited >= left - 20 && waited <= left + 300;
    int not_early = now - armed >= 5000 - 5;
    t_printf("one-shot fired: ticks %" PRIu64 ", on time %s, not before 5 s %s", n,
             k_yes(on_time), k_yes(not_early));
    K_EXPECT(n == 1);
    if (!on_time || !not_early)
        t_printf("  (waited %lld ms with %lld ms left; %lld ms since arming)",
                 (long long)waited, (long long)left, (long long)(now - armed));
    t_assert(timerfd_gettime(once, &cur) == 0);
    t_printf("one-shot now disarmed %s",
             k_yes(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0));

    /* The disarmed one: still disarmed, still non-blocking. */
    t_assert(timerfd_gettime(off, &cur) == 0);
    r = read(off, &v, sizeof v);
    err = errno;
    t_printf("disarmed: value %lld interval %lld, nonblock %d, read %s",
             (long long)ts_ms(cur.it_value), (long long)ts_ms(cur.it_interval),
             k_nonblock(off), r < 0 ? k_errname(err) : "data");
    K_EXPECT(ts_ms(cur.it_value) == 0 && ts_ms(cur.it_interval) == 0 && k_nonblock(off) &&
             r < 0 && err == EAGAIN);
    t_printf("cloexec: periodic %d one-shot %d", k_cloexec(per), k_cloexec(once));
    K_EXPECT(!k_cloexec(per) && k_cloexec(once));

    /* Re-arming works on restored timers. */
    struct itimerspec shortone = {{0, 0}, {0, 30000000}};
    t_assert(timerfd_settime(off, 0, &shortone, NULL) == 0);
    k_sleep_ms(60);
    r = read(off, &v, sizeof v);
    t_printf("re-armed disarmed timer: read %s", k_ok(r == 8 && v == 1));
    p.it_value.tv_nsec = 0;
    p.it_interval.tv_nsec = 0;
    t_assert(timerfd_settime(per, 0, &p, NULL) == 0);
    k_finish();
}
