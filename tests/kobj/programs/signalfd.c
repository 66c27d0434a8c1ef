/* signalfd across checkpoint/restart: SIGUSR1 and SIGRTMIN+1 blocked and read
 * through a non-blocking signalfd. At the point one SIGUSR1 (raise: directed
 * at the thread) and two queued SIGRTMIN+1 with values are pending; after
 * restart the signalfd returns them with their codes and values, then
 * EAGAIN; new signals arrive through it; its mask can be changed. */
#include "kobj.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>

static pid_t self;

struct want {
    int signo, code, value;
};

/* Reads the signalfd until EAGAIN, printing every signal, and checks they are
 * want[0..count-1] in that order, all sent by this process. */
static void drain(int sfd, const char *when, const struct want *want, int count) {
    for (int k = 0;; k++) {
        struct signalfd_siginfo si;
        ssize_t n = read(sfd, &si, sizeof si);
        if (n < 0) {
            int err = errno;
            t_printf("%s: read: %s", when, k_errname(err));
            K_EXPECT(err == EAGAIN && k == count);
            return;
        }
        t_assert(n == (ssize_t)sizeof si);
        K_EXPECT(k < count && (int)si.ssi_signo == want[k].signo &&
                 si.ssi_code == want[k].code && (pid_t)si.ssi_pid == self &&
                 (si.ssi_code != SI_QUEUE || si.ssi_int == want[k].value));
        if ((int)si.ssi_signo >= SIGRTMIN)
            t_printf("%s: SIGRTMIN+%d code %d from_self %d value %d", when,
                     (int)si.ssi_signo - SIGRTMIN, si.ssi_code, (pid_t)si.ssi_pid == self,
                     si.ssi_int);
        else
            t_printf("%s: signal %d code %d from_self %d", when, (int)si.ssi_signo,
                     si.ssi_code, (pid_t)si.ssi_pid == self);
    }
}

static void show_state(const char *when, int sfd, int usr1_pending, int rt_pending,
                       const char *mask_want) {
    sigset_t pend, blocked;
    t_assert(sigpending(&pend) == 0);
    t_assert(sigprocmask(SIG_BLOCK, NULL, &blocked) == 0);
    char mask[64] = "?";
    t_assert(k_fdinfo(sfd, "sigmask", mask, sizeof mask) == 0);
    t_printf("%s: pending usr1 %d rt1 %d; blocked usr1 %d rt1 %d; signalfd mask %s "
             "nonblock %d cloexec %d",
             when, sigismember(&pend, SIGUSR1), sigismember(&pend, SIGRTMIN + 1),
             sigismember(&blocked, SIGUSR1), sigismember(&blocked, SIGRTMIN + 1), mask,
             k_nonblock(sfd), k_cloexec(sfd));
    K_EXPECT(sigismember(&pend, SIGUSR1) == usr1_pending &&
             sigismember(&pend, SIGRTMIN + 1) == rt_pending);
    K_EXPECT(sigismember(&blocked, SIGUSR1) && sigismember(&blocked, SIGRTMIN + 1));
    K_EXPECT(strcmp(mask, mask_want) == 0 && k_nonblock(sfd) && k_cloexec(sfd));
}

int main(void) {
    self = getpid();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGRTMIN + 1);
    t_assert(sigprocmask(SIG_BLOCK, &set, NULL) == 0);
    int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    t_assert(sfd >= 0);

    t_assert(raise(SIGUSR1) == 0);
    t_assert(sigqueue(self, SIGRTMIN + 1, (union sigval){.sival_int = 41}) == 0);
    t_assert(sigqueue(self, SIGRTMIN + 1, (union sigval){.sival_int = 42}) == 0);
    /* fdinfo's sigmask: SIGUSR1 (10) is bit 9, SIGRTMIN+1 (35) bit 34. */
    const char *both = "0000000400000200", *usr1 = "0000000000000200";
    t_assert(SIGRTMIN + 1 == 35);
    show_state("before", sfd, 1, 1, both);

    t_checkpoint_point(1);

    show_state("after", sfd, 1, 1, both);
    struct pollfd pf = {sfd, POLLIN, 0};
    int ready = poll(&pf, 1, 0);
    t_printf("after: poll %d revents %#x", ready, pf.revents);
    K_EXPECT(ready == 1 && pf.revents == POLLIN);
    const int rt = SIGRTMIN + 1;
    const struct want at_point[] = {{SIGUSR1, SI_TKILL, 0}, {rt, SI_QUEUE, 41},
                                    {rt, SI_QUEUE, 42}};
    drain(sfd, "after", at_point, 3);

    /* New signals come through it. */
    t_assert(kill(self, SIGUSR1) == 0);
    t_assert(sigqueue(self, SIGRTMIN + 1, (union sigval){.sival_int = 43}) == 0);
    const struct want fresh[] = {{SIGUSR1, SI_USER, 0}, {rt, SI_QUEUE, 43}};
    drain(sfd, "new", fresh, 2);

    /* Changing the mask of the existing signalfd: only SIGUSR1 now. */
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    int r = signalfd(sfd, &one, 0);
    t_printf("signalfd(sfd, {SIGUSR1}) returns the same fd: %s", k_yes(r == sfd));
    t_assert(sigqueue(self, SIGRTMIN + 1, (union sigval){.sival_int = 44}) == 0);
    t_assert(raise(SIGUSR1) == 0);
    const struct want narrowed[] = {{SIGUSR1, SI_TKILL, 0}};
    drain(sfd, "narrowed", narrowed, 1);
    show_state("end", sfd, 0, 1, usr1);
    /* The SIGRTMIN+1 left pending is consumed with sigtimedwait. */
    siginfo_t si;
    struct timespec zero = {0, 0};
    int sig = sigtimedwait(&set, &si, &zero);
    t_printf("sigtimedwait: SIGRTMIN+%d value %d", sig - SIGRTMIN, si.si_value.sival_int);
    K_EXPECT(sig == rt && si.si_value.sival_int == 44);
    k_finish();
}
