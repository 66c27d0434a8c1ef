/* Scheduling attributes per thread across checkpoint/restart: each thread sets its own
 * policy, nice value and timer slack (the kernel keeps all three per thread), then
 * blocks; after the point each reports what it has and checks it is what it set.
 * As root two threads are real-time (SCHED_FIFO 10; SCHED_RR 3 with nice 4 kept
 * underneath); as an ordinary user they are SCHED_OTHER nice 11 and SCHED_BATCH nice 19
 * (an ordinary user may raise nice and choose BATCH/IDLE, not lower nice or go real-time).
 * One thread has SCHED_RESET_ON_FORK. Nice values are relative to the one the program
 * starts with (an ordinary user under `nice` cannot go below it), at most 19. */
#include "kobj.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

struct sched_attr_v0 {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};
#define RESET_ON_FORK 1

struct want {
    const char *name;
    uint32_t policy;
    int32_t nice;
    uint32_t priority;
    uint64_t flags;
    unsigned long slack;  /* 0: real-time, the kernel keeps none */
    int go[2], done[2];
};

static struct want threads[] = {
    {"main", SCHED_OTHER, 3, 0, 0, 123456, {-1, -1}, {-1, -1}},
    {"batch", SCHED_BATCH, 7, 0, RESET_ON_FORK, 200000, {-1, -1}, {-1, -1}},
    {"idle", SCHED_IDLE, 5, 0, 0, 777, {-1, -1}, {-1, -1}},
    {"fifo", SCHED_FIFO, 0, 10, 0, 0, {-1, -1}, {-1, -1}},
    {"rr", SCHED_RR, 4, 3, 0, 0, {-1, -1}, {-1, -1}},
};
#define NTHREADS (int)(sizeof threads / sizeof threads[0])

static void apply(struct want *w) {
    struct sched_attr_v0 a = {sizeof a, w->policy, w->flags, w->nice, w->priority, 0, 0, 0};
    t_assert(syscall(SYS_sched_setattr, 0, &a, 0) == 0);
    /* (real-time and idle policies keep the nice value they find) */
    t_assert(setpriority(PRIO_PROCESS, 0, w->nice) == 0);
    if (w->slack)
        t_assert(prctl(PR_SET_TIMERSLACK, w->slack, 0, 0, 0) == 0);
}

static void report(struct want *w, const char *when) {
    struct sched_attr_v0 a;
    memset(&a, 0, sizeof a);
    t_assert(syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) == 0);
    long slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    /* sched_getattr shows no nice value under a real-time policy; the thread has one. */
    errno = 0;
    a.nice = getpriority(PRIO_PROCESS, 0);
    t_assert(errno == 0);
    t_printf("%s %s: policy %u nice %d priority %u reset_on_fork %d slack %ld", when, w->name, a.policy, a.nice,
             a.priority, (int)(a.flags & RESET_ON_FORK), slack);
    K_EXPECT(a.policy == w->policy && a.nice == w->nice && a.priority == w->priority &&
             (a.flags & RESET_ON_FORK) == w->flags && (unsigned long)slack == w->slack);
}

static void *worker(void *arg) {
    struct want *w = arg;
    apply(w);
    report(w, "before");
    char c = 1;
    k_write_all(w->done[1], &c, 1);
    k_read_full(w->go[0], &c, 1);  /* blocked here at the point */
    report(w, "after");
    k_write_all(w->done[1], &c, 1);
    return NULL;
}

int main(void) {
    if (geteuid() != 0) {
        threads[3] = (struct want){"other", SCHED_OTHER, 11, 0, 0, 50001, {-1, -1}, {-1, -1}};
        threads[4] = (struct want){"batch19", SCHED_BATCH, 19, 0, 0, 1, {-1, -1}, {-1, -1}};
    }
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    t_assert(errno == 0);
    for (int i = 0; i < NTHREADS; i++)
        threads[i].nice = base + threads[i].nice > 19 ? 19 : base + threads[i].nice;
    apply(&threads[0]);
    report(&threads[0], "before");
    pthread_t tids[NTHREADS];
    char c;
    /* The workers block SIGUSR2: the point's signal is for the main thread. */
    sigset_t usr2, old;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    t_assert(pthread_sigmask(SIG_BLOCK, &usr2, &old) == 0);
    for (int i = 1; i < NTHREADS; i++) {
        t_assert(pipe(threads[i].go) == 0 && pipe(threads[i].done) == 0);
        t_assert(pthread_create(&tids[i], NULL, worker, &threads[i]) == 0);
        k_read_full(threads[i].done[0], &c, 1);  /* one at a time: the output keeps its order */
    }
    t_assert(pthread_sigmask(SIG_SETMASK, &old, NULL) == 0);

    t_checkpoint_point(1);

    report(&threads[0], "after");
    for (int i = 1; i < NTHREADS; i++) {
        k_write_all(threads[i].go[1], &c, 1);
        k_read_full(threads[i].done[0], &c, 1);
        t_assert(pthread_join(tids[i], NULL) == 0);
    }
    k_finish();
}
