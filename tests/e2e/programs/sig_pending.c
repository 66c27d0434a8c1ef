/* Pending signals survive checkpoint/restart: a thread-directed SIGUSR1
 * (raise) and two queued SIGRTMIN+2 with si_value, delivered after restart. */
#define _GNU_SOURCE
#include "crtest.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static pid_t self;

static void on_usr1(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    t_printf("handler SIGUSR1 signo=%d code=%d from_self=%d", sig, si->si_code,
             si->si_pid == self);
}

static void on_rt(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    t_printf("handler SIGRTMIN+%d code=%d value=%d from_self=%d", sig - SIGRTMIN,
             si->si_code, si->si_value.sival_int, si->si_pid == self);
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);   /* no nesting: fixed delivery order */
    t_assert(sigaction(sig, &sa, NULL) == 0);
}

int main(void) {
    self = getpid();
    int rt = SIGRTMIN + 2;
    install(SIGUSR1, on_usr1);
    install(rt, on_rt);

    sigset_t block, old, pend;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, rt);
    t_assert(sigprocmask(SIG_BLOCK, &block, &old) == 0);

    t_assert(raise(SIGUSR1) == 0);
    t_assert(sigqueue(self, rt, (union sigval){.sival_int = 111}) == 0);
    t_assert(sigqueue(self, rt, (union sigval){.sival_int = 222}) == 0);
    t_assert(sigpending(&pend) == 0);
    t_printf("before: pending usr1=%d rt=%d", sigismember(&pend, SIGUSR1),
             sigismember(&pend, rt));

    t_checkpoint_point(1);

    t_assert(sigpending(&pend) == 0);
    t_printf("after: pending usr1=%d rt=%d", sigismember(&pend, SIGUSR1),
             sigismember(&pend, rt));
    sigset_t cur;
    t_assert(sigprocmask(SIG_BLOCK, NULL, &cur) == 0);
    t_printf("after: blocked usr1=%d rt=%d", sigismember(&cur, SIGUSR1),
             sigismember(&cur, rt));
    t_puts("unblocking");
    t_assert(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    t_puts("unblocked");
    t_assert(sigpending(&pend) == 0);
    t_printf("final: pending usr1=%d rt=%d", sigismember(&pend, SIGUSR1),
             sigismember(&pend, rt));
    t_pass();
}
