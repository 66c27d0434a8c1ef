/* Signal-driven I/O across checkpoint/restart: the read end of a pipe has O_ASYNC, its
 * owner is the process (F_SETOWN) and its signal SIGRTMIN+2 (F_SETSIG, blocked); the read
 * end of a second pipe has O_ASYNC with the owner set with F_SETOWN_EX to the main thread
 * (F_OWNER_TID) and the default SIGIO (blocked). After the point each must still have its
 * flag, owner (the process's pid now) and signal, and a write into each pipe must queue
 * that signal to the process, with si_fd naming the read end for SIGRTMIN+2. */
#include "kobj.h"

#include <signal.h>
#include <sys/syscall.h>

static int take(int sig, siginfo_t *si) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    struct timespec ts = {2, 0};
    int r;
    while ((r = sigtimedwait(&set, si, &ts)) < 0 && errno == EINTR)
        ;
    return r;
}

static void check(const char *when, int a, int b) {
    struct f_owner_ex oa, ob;
    t_assert(fcntl(a, F_GETOWN_EX, &oa) == 0 && fcntl(b, F_GETOWN_EX, &ob) == 0);
    t_printf("%s: a: O_ASYNC %s, owner is the process %s, signal SIGRTMIN+2 %s", when, k_yes(fcntl(a, F_GETFL) & O_ASYNC),
             k_yes(oa.type == F_OWNER_PID && oa.pid == getpid()), k_yes(fcntl(a, F_GETSIG) == SIGRTMIN + 2));
    t_printf("%s: b: O_ASYNC %s, owner is the main thread %s, signal default %s", when, k_yes(fcntl(b, F_GETFL) & O_ASYNC),
             k_yes(ob.type == F_OWNER_TID && ob.pid == (pid_t)syscall(SYS_gettid)), k_yes(fcntl(b, F_GETSIG) == 0));
}

int main(void) {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGRTMIN + 2);
    sigaddset(&block, SIGIO);
    t_assert(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
    int p[2], q[2];
    t_assert(pipe(p) == 0 && pipe(q) == 0);
    t_assert(fcntl(p[0], F_SETOWN, getpid()) == 0 && fcntl(p[0], F_SETSIG, SIGRTMIN + 2) == 0);
    t_assert(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_ASYNC) == 0);
    struct f_owner_ex me = {F_OWNER_TID, (pid_t)syscall(SYS_gettid)};
    t_assert(fcntl(q[0], F_SETOWN_EX, &me) == 0);
    t_assert(fcntl(q[0], F_SETFL, fcntl(q[0], F_GETFL) | O_ASYNC) == 0);
    check("before", p[0], q[0]);

    t_checkpoint_point(1);

    check("after", p[0], q[0]);
    k_write_all(p[1], "x", 1);
    siginfo_t si;
    int got = take(SIGRTMIN + 2, &si);
    t_printf("write into a: SIGRTMIN+2 %s, si_fd is a %s", k_yes(got == SIGRTMIN + 2), k_yes(got > 0 && si.si_fd == p[0]));
    k_write_all(q[1], "y", 1);
    got = take(SIGIO, &si);
    t_printf("write into b: SIGIO %s", k_yes(got == SIGIO));
    k_finish();
}
