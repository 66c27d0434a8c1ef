/* An epoll loop over a pipe, an eventfd and a timerfd, each registered with
 * its own data value. At the point the pipe and the eventfd are ready and the
 * timer is armed; after restart the loop keeps dispatching by data value,
 * the registrations (fd, events, data) are those made before, EPOLL_CTL_ADD
 * of a registered fd says EEXIST, and EPOLL_CTL_MOD / EPOLL_CTL_DEL work. */
#include "kobj.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#define D_PIPE 0x1001
#define D_EVENT 0x2002
#define D_TIMER 0x3003
#define D_PIPE2 0x4004

static int ep, pr, pw, efd, tfd;

static void arm_timer(int ms) {
    struct itimerspec its = {{0, 0}, {ms / 1000, (long)(ms % 1000) * 1000000L}};
    t_assert(timerfd_settime(tfd, 0, &its, NULL) == 0);
}

/* Consumes what made data ready; returns a short description. */
static const char *handle(uint64_t data) {
    static char desc[128];
    if (data == D_PIPE || data == D_PIPE2) {
        char buf[64];
        ssize_t n = read(pr, buf, sizeof buf - 1);
        t_assert(n > 0);
        buf[n] = '\0';
        snprintf(desc, sizeof desc, "pipe '%s'", buf);
    } else if (data == D_EVENT) {
        uint64_t v;
        t_assert(read(efd, &v, sizeof v) == 8);
        snprintf(desc, sizeof desc, "eventfd %" PRIu64, v);
    } else if (data == D_TIMER) {
        uint64_t v;
        t_assert(read(tfd, &v, sizeof v) == 8);
        snprintf(desc, sizeof desc, "timer %" PRIu64, v);
    } else {
        snprintf(desc, sizeof desc, "unknown data %#" PRIx64, data);
    }
    return desc;
}

static int cmp_ev(const void *a, const void *b) {
    uint64_t x = ((const struct epoll_event *)a)->data.u64;
    uint64_t y = ((const struct epoll_event *)b)->data.u64;
    return x < y ? -1 : x > y;
}

/* One epoll_wait; prints the events sorted by data and handles them. They
 * must be want[0..nwant-1] ("<data in hex> <description>"), in that order. */
static int dispatch(const char *tag, int timeout, const char *const *want, int nwant) {
    struct epoll_event ev[8];
    int n;
    while ((n = epoll_wait(ep, ev, 8, timeout)) < 0 && errno == EINTR)
        ;
    t_assert(n >= 0);
    qsort(ev, (size_t)n, sizeof ev[0], cmp_ev);
    if (n == 0)
        t_printf("%s: no events", tag);
    K_EXPECT(n == nwant);
    for (int i = 0; i < n; i++) {
        const char *desc = handle(ev[i].data.u64);
        t_printf("%s: data %#" PRIx64 " events %#x: %s", tag, ev[i].data.u64, ev[i].events,
                 desc);
        char got[160];
        snprintf(got, sizeof got, "%#" PRIx64 " %s", ev[i].data.u64, desc);
        K_EXPECT(i < nwant && strcmp(got, want[i]) == 0 && ev[i].events == EPOLLIN);
    }
    return n;
}

/* One round makes exactly one source ready and dispatches it. */
static void round_once(int k) {
    char tag[32];
    snprintf(tag, sizeof tag, "round %d", k);
    char want[64];
    switch (k % 3) {
    case 0: {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "msg %d", k);
        k_write_all(pw, msg, (size_t)len);
        snprintf(want, sizeof want, "%#x pipe '%s'", D_PIPE, msg);
        break;
    }
    case 1: {
        uint64_t v = (uint64_t)k + 1;
        t_assert(write(efd, &v, 8) == 8);
        snprintf(want, sizeof want, "%#x eventfd %d", D_EVENT, k + 1);
        break;
    }
    case 2:
        arm_timer(20);
        snprintf(want, sizeof want, "%#x timer 1", D_TIMER);
        break;
    }
    const char *w = want;
    dispatch(tag, 2000, &w, 1);
}

/* Prints the epoll's registrations (from fdinfo, sorted by fd) and checks
 * they are want[0..nwant-1] ("<fd name> <events hex> <data hex>"). */
static void show_registrations(const char *when, const char *const *want, int nwant) {
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ep);
    int f = open(path, O_RDONLY);
    t_assert(f >= 0);
    ssize_t n = read(f, buf, sizeof buf - 1);
    t_assert(n >= 0);
    close(f);
    buf[n] = '\0';
    struct { int fd; unsigned events; unsigned long long data; } regs[8];
    int count = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "tfd:", 4) != 0)
            continue;
        t_assert(count < 8);
        t_assert(sscanf(line, "tfd: %d events: %x data: %llx", &regs[count].fd,
                        &regs[count].events, &regs[count].data) == 3);
        count++;
    }
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++)
            if (regs[j].fd < regs[i].fd) {
                __typeof__(regs[0]) t = regs[i];
                regs[i] = regs[j];
                regs[j] = t;
            }
    t_printf("%s: %d registrations", when, count);
    K_EXPECT(count == nwant);
    for (int i = 0; i < count; i++) {
        char got[96];
        snprintf(got, sizeof got, "%s %#x %#llx",
                 regs[i].fd == pr ? "pipe" : regs[i].fd == efd ? "eventfd"
                 : regs[i].fd == tfd ? "timerfd" : "OTHER",
                 regs[i].events, regs[i].data);
        t_printf("%s:   fd %s", when, got);
        K_EXPECT(i < nwant && strcmp(got, want[i]) == 0);
    }
}

static int ctl(int op, int fd, unsigned events, uint64_t data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    int r = epoll_ctl(ep, op, fd, &ev);
    return r < 0 ? -errno : r;
}

int main(void) {
    int p[2];
    t_assert(pipe2(p, O_NONBLOCK) == 0);
    pr = p[0];
    pw = p[1];
    efd = eventfd(0, EFD_NONBLOCK);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    ep = epoll_create1(EPOLL_CLOEXEC);
    t_assert(efd >= 0 && tfd >= 0 && ep >= 0);
    t_assert(ctl(EPOLL_CTL_ADD, pr, EPOLLIN, D_PIPE) == 0);
    t_assert(ctl(EPOLL_CTL_ADD, efd, EPOLLIN | EPOLLRDHUP, D_EVENT) == 0);
    t_assert(ctl(EPOLL_CTL_ADD, tfd, EPOLLIN | EPOLLPRI, D_TIMER) == 0);
    /* fdinfo adds EPOLLERR|EPOLLHUP (0x18) to the events asked for. */
    static const char *const regs3[] = {"pipe 0x19 0x1001", "eventfd 0x2019 0x2002",
                                        "timerfd 0x1b 0x3003"};
    t_assert(pr < efd && efd < tfd);
    show_registrations("before", regs3, 3);

    for (int k = 0; k < 6; k++)
        round_once(k);

    /* At the point: pipe and eventfd ready, timer armed for 2 s (long enough
     * not to expire before the first epoll_wait after a restart). */
    k_write_all(pw, "pending", 7);
    uint64_t nine = 9;
    t_assert(write(efd, &nine, 8) == 8);
    arm_timer(2000);

    t_checkpoint_point(1);

    show_registrations("after", regs3, 3);
    t_printf("after: epoll cloexec %d", k_cloexec(ep));
    K_EXPECT(k_cloexec(ep));
    static const char *const at_point[] = {"0x1001 pipe 'pending'", "0x2002 eventfd 9"};
    dispatch("ready at the point", 0, at_point, 2);
    static const char *const timer1[] = {"0x3003 timer 1"};
    dispatch("timer armed at the point", 5000, timer1, 1);
    for (int k = 6; k < 12; k++)
        round_once(k);

    int r = ctl(EPOLL_CTL_ADD, pr, EPOLLIN, D_PIPE);
    t_printf("EPOLL_CTL_ADD pipe again: %d %s", r, k_errname(-r));
    K_EXPECT(r == -EEXIST);
    r = ctl(EPOLL_CTL_MOD, pr, EPOLLIN, D_PIPE2);
    t_printf("EPOLL_CTL_MOD pipe data -> %#x: %d", D_PIPE2, r);
    K_EXPECT(r == 0);
    k_write_all(pw, "after mod", 9);
    static const char *const after_mod[] = {"0x4004 pipe 'after mod'"};
    dispatch("after mod", 2000, after_mod, 1);
    r = ctl(EPOLL_CTL_DEL, efd, 0, 0);
    t_printf("EPOLL_CTL_DEL eventfd: %d", r);
    K_EXPECT(r == 0);
    uint64_t one = 1;
    t_assert(write(efd, &one, 8) == 8);
    dispatch("eventfd written after del", 200, NULL, 0);
    r = ctl(EPOLL_CTL_DEL, efd, 0, 0);
    t_printf("EPOLL_CTL_DEL eventfd again: %d %s", r, k_errname(-r));
    K_EXPECT(r == -ENOENT);
    r = ctl(EPOLL_CTL_MOD, tfd, EPOLLIN | EPOLLONESHOT, D_TIMER);
    t_printf("EPOLL_CTL_MOD timerfd oneshot: %d", r);
    K_EXPECT(r == 0);
    arm_timer(10);
    dispatch("timer oneshot", 2000, timer1, 1);
    arm_timer(10);
    dispatch("timer oneshot disabled", 200, NULL, 0);
    r = ctl(EPOLL_CTL_DEL, tfd, 0, 0);
    t_printf("EPOLL_CTL_DEL timerfd: %d", r);
    K_EXPECT(r == 0);
    static const char *const regs_end[] = {"pipe 0x19 0x4004"};
    show_registrations("end", regs_end, 1);
    k_finish();
}
