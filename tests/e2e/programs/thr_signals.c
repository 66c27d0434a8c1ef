/* Per-thread signal state across checkpoint/restart.
 *   thread 1: own sigaltstack; a SA_ONSTACK SIGUSR1 handler reports whether it
 *             ran on that thread's alternate stack;
 *   thread 2: blocks SIGUSR1 and SIGRTMIN+1; main sends it a thread-directed
 *             SIGUSR1 (pthread_kill) and two queued SIGRTMIN+1 (values 77, 78)
 *             before the point; after it, thread 2 unblocks them and the
 *             handlers must run in thread 2, in order;
 *   thread 3: own sigaltstack with SS_AUTODISARM; leaves SIGUSR1 and
 *             SIGRTMIN+1 unblocked, so it (or main) would catch a thread-
 *             directed signal wrongly restored as process-wide.
 * Every thread has its own signal mask, printed before and after the point
 * (as seen by pthread_sigmask and by /proc/thread-self/status SigBlk), and
 * checks its rseq registration and robust-list head are still in place.
 * Threads act one at a time (turns) so the output order is fixed. Handlers
 * identify the thread by a __thread logical index, not by tid. */
#define _GNU_SOURCE
#include "crtest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)   /* linux/signal.h */
#endif

#define NT 4   /* logical threads 0 (main) .. 3 */
#define ALTSIZE (64 * 1024)

static __thread int logical = 0;
static __thread char *alt_lo, *alt_hi;      /* this thread's alternate stack */
static __thread void *robust_head_before;

static char altstack1[ALTSIZE] __attribute__((aligned(64)));
static char altstack3[ALTSIZE] __attribute__((aligned(64)));

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn = 0;
static volatile pid_t tids[NT];

static void wait_turn(int me) {
    t_assert(pthread_mutex_lock(&mu) == 0);
    while (turn != me)
        t_assert(pthread_cond_wait(&cv, &mu) == 0);
    t_assert(pthread_mutex_unlock(&mu) == 0);
}

static void give_turn(int to) {
    t_assert(pthread_mutex_lock(&mu) == 0);
    turn = to;
    t_assert(pthread_cond_broadcast(&cv) == 0);
    t_assert(pthread_mutex_unlock(&mu) == 0);
}

static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    char here;
    int on_alt = alt_lo != NULL && &here >= alt_lo && &here < alt_hi;
    stack_t ss;
    t_assert(sigaltstack(NULL, &ss) == 0);
    t_printf("  SIGUSR1 handler in thread %d: on own altstack %d, sigaltstack flags %#x, "
             "code SI_TKILL %d", logical, on_alt, (unsigned)ss.ss_flags,
             si->si_code == SI_TKILL);
}

static void on_rt(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    t_printf("  SIGRTMIN+%d handler in thread %d: value %d, code SI_QUEUE %d",
             sig - SIGRTMIN, logical, si->si_value.sival_int, si->si_code == SI_QUEUE);
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    sigfillset(&sa.sa_mask);   /* no nesting: fixed delivery order */
    t_assert(sigaction(sig, &sa, NULL) == 0);
}

/* "SigBlk:" (or another key) of /proc/self/task/TID/status. */
static void status_field(pid_t tid, const char *key, char *out, size_t outlen) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    t_assert(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    t_assert(n > 0);
    t_assert(close(fd) == 0);
    buf[n] = '\0';
    char *p = strstr(buf, key);
    t_assert(p != NULL);
    p += strlen(key);
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, "\n");
    t_assert(len < outlen);
    memcpy(out, p, len);
    out[len] = '\0';
}

static unsigned long long set_bits(const sigset_t *s) {
    unsigned long long bits = 0;
    for (int sig = 1; sig <= 64; sig++)
        if (sigismember(s, sig) == 1)
            bits |= 1ULL << (sig - 1);
    return bits;
}

static void sigset_of(sigset_t *s, const int *sigs) {
    sigemptyset(s);
    for (; *sigs; sigs++)
        sigaddset(s, *sigs);
}

/* 1 if this thread's glibc rseq area is registered with the kernel, 0 if not,
 * -1 if glibc does not use rseq. glibc may register a 32-byte area while
 * __rseq_size gives the (smaller) feature size, so both lengths are tried:
 * the kernel answers EBUSY only for the registered area and length. */
static int rseq_registered(void) {
    if (__rseq_size == 0)
        return -1;
    void *area = (char *)__builtin_thread_pointer() + __rseq_offset;
    unsigned lens[2] = {32, __rseq_size};
    for (int i = 0; i < 2; i++) {
        long r = syscall(SYS_rseq, area, lens[i], 0, RSEQ_SIG);
        if (r == 0) {
            /* It was not registered; undo our registration. */
            t_assert(syscall(SYS_rseq, area, lens[i], RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0);
            return 0;
        }
        if (errno == EBUSY)
            return 1;
    }
    return 0;
}

static void *robust_head(void) {
    void *head = NULL;
    size_t len = 0;
    t_assert(syscall(SYS_get_robust_list, 0, &head, &len) == 0);
    return head;
}

static void report(const char *when) {
    sigset_t cur;
    t_assert(pthread_sigmask(SIG_BLOCK, NULL, &cur) == 0);
    char blk[64];
    status_field((pid_t)syscall(SYS_gettid), "SigBlk:", blk, sizeof blk);
    stack_t ss;
    t_assert(sigaltstack(NULL, &ss) == 0);
    int alt_same = alt_lo == NULL ? ss.ss_sp == NULL || (ss.ss_flags & SS_DISABLE)
                                  : (char *)ss.ss_sp == alt_lo && ss.ss_size == ALTSIZE;
    t_printf("thread %d %s: mask %016llx SigBlk %s altstack flags %#x same %d, "
             "rseq registered %d, robust list kept %d", logical, when, set_bits(&cur), blk,
             (unsigned)ss.ss_flags, alt_same, rseq_registered(),
             robust_head() == robust_head_before && robust_head_before != NULL);
}

static void set_altstack(char *mem, int flags) {
    stack_t ss = {.ss_sp = mem, .ss_size = ALTSIZE, .ss_flags = flags};
    t_assert(sigaltstack(&ss, NULL) == 0);
    alt_lo = mem;
    alt_hi = mem + ALTSIZE;
}

static void *thread_main(void *arg) {
    logical = (int)(intptr_t)arg;
    tids[logical] = (pid_t)syscall(SYS_gettid);
    robust_head_before = robust_head();
    int rt1 = SIGRTMIN + 1;
    sigset_t mask;
    switch (logical) {
    case 1: {
        int sigs[] = {SIGUSR2, rt1, SIGRTMIN + 3, SIGTERM, 0};
        sigset_of(&mask, sigs);
        set_altstack(altstack1, 0);
        break;
    }
    case 2: {
        int sigs[] = {SIGUSR2, SIGUSR1, rt1, SIGINT, 0};
        sigset_of(&mask, sigs);
        break;
    }
    default: {
        int sigs[] = {SIGUSR2, SIGRTMIN + 5, SIGHUP, SIGWINCH, 0};
        sigset_of(&mask, sigs);
        set_altstack(altstack3, (int)SS_AUTODISARM);
        break;
    }
    }
    t_assert(pthread_sigmask(SIG_SETMASK, &mask, NULL) == 0);

    /* Turn 1: before the point. */
    wait_turn(logical);
    report("before");
    if (logical != 2)
        t_assert(pthread_kill(pthread_self(), SIGUSR1) == 0);
    give_turn(0);

    /* Turn 2: after the point. */
    wait_turn(logical);
    report("after");
    if (logical == 2) {
        char pnd[64], shd[64];
        status_field(tids[2], "SigPnd:", pnd, sizeof pnd);
        status_field(tids[2], "ShdPnd:", shd, sizeof shd);
        t_printf("thread 2 pending: SigPnd %s ShdPnd %s", pnd, shd);
        t_puts("thread 2 unblocking SIGUSR1 and SIGRTMIN+1");
        sigset_t un;
        int sigs[] = {SIGUSR1, rt1, 0};
        sigset_of(&un, sigs);
        t_assert(pthread_sigmask(SIG_UNBLOCK, &un, NULL) == 0);
        t_puts("thread 2 unblocked");
        report("unblocked");
    } else {
        t_assert(pthread_kill(pthread_self(), SIGUSR1) == 0);
    }
    report("end");
    give_turn(0);
    return NULL;
}

int main(void) {
    install(SIGUSR1, on_usr1);
    install(SIGRTMIN + 1, on_rt);
    tids[0] = (pid_t)syscall(SYS_gettid);
    robust_head_before = robust_head();
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    t_assert(pthread_sigmask(SIG_SETMASK, &usr2, NULL) == 0);

    pthread_t th[NT];
    for (int i = 1; i < NT; i++)
        t_assert(pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i) == 0);

    report("before");
    t_assert(pthread_kill(pthread_self(), SIGUSR1) == 0);
    for (int i = 1; i < NT; i++) {
        give_turn(i);
        wait_turn(0);
    }

    t_puts("main: sending SIGUSR1 and SIGRTMIN+1 (77, 78) to thread 2");
    t_assert(pthread_kill(th[2], SIGUSR1) == 0);
    t_assert(pthread_sigqueue(th[2], SIGRTMIN + 1, (union sigval){.sival_int = 77}) == 0);
    t_assert(pthread_sigqueue(th[2], SIGRTMIN + 1, (union sigval){.sival_int = 78}) == 0);
    char pnd[64], shd[64];
    status_field(tids[2], "SigPnd:", pnd, sizeof pnd);
    status_field(tids[2], "ShdPnd:", shd, sizeof shd);
    t_printf("main: thread 2 SigPnd %s ShdPnd %s", pnd, shd);

    t_checkpoint_point(1);

    status_field(tids[2], "SigPnd:", pnd, sizeof pnd);
    status_field(tids[2], "ShdPnd:", shd, sizeof shd);
    t_printf("main after point: thread 2 SigPnd %s ShdPnd %s", pnd, shd);
    report("after");
    t_assert(pthread_kill(pthread_self(), SIGUSR1) == 0);
    for (int i = 1; i < NT; i++) {
        give_turn(i);
        wait_turn(0);
    }
    for (int i = 1; i < NT; i++)
        t_assert(pthread_join(th[i], NULL) == 0);
    t_pass();
}
