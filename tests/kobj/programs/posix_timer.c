/* POSIX timers across checkpoint/restart, checked by the process itself after the point:
 * ids kept (a gap too: the second timer made is deleted before the point), a periodic
 * 200 ms CLOCK_MONOTONIC timer signalling SIGRTMIN with a sigev_value still fires with
 * that value and id at its period; a one-shot CLOCK_BOOTTIME timer sent to the main
 * thread (SIGEV_THREAD_ID) fires once, not before the time left at the point; a
 * SIGEV_NONE CLOCK_REALTIME one-shot of 60 s is still armed with no more time left than
 * before; a disarmed CLOCK_PROCESS_CPUTIME_ID timer is still there, disarmed. The signals
 * are blocked and taken with sigtimedwait. Only checks and ids are printed. */
#include "kobj.h"

#include <signal.h>
#include <sys/syscall.h>

static timer_t make(clockid_t clock, int notify, int sig, intptr_t value) {
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = notify;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_ptr = (void *)value;
    if (notify == SIGEV_THREAD_ID)
        ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    timer_t t;
    t_assert(timer_create(clock, &ev, &t) == 0);
    return t;
}

static int64_t ms(struct timespec t) { return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000; }

/* Waits up to limit_ms for sig; returns its siginfo (si_signo 0 if none came). */
static siginfo_t take(int sig, int limit_ms) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    struct timespec ts = {limit_ms / 1000, (long)(limit_ms % 1000) * 1000000L};
    siginfo_t si;
    memset(&si, 0, sizeof si);
    while (sigtimedwait(&set, &si, &ts) < 0) {
        t_assert(errno == EINTR || errno == EAGAIN);
        if (errno == EAGAIN) {
            si.si_signo = 0;
            break;
        }
    }
    return si;
}

int main(void) {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGRTMIN);
    sigaddset(&block, SIGRTMIN + 1);
    t_assert(sigprocmask(SIG_BLOCK, &block, NULL) == 0);

    timer_t periodic = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN, 0x1234);
    timer_t gone = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
    timer_t once = make(CLOCK_BOOTTIME, SIGEV_THREAD_ID, SIGRTMIN + 1, 0x99);
    timer_t quiet = make(CLOCK_REALTIME, SIGEV_NONE, 0, 0);
    timer_t cpu = make(CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL, SIGRTMIN, 7);
    t_assert(timer_delete(gone) == 0);
    t_printf("ids: %ld %ld %ld %ld", (long)periodic, (long)once, (long)quiet, (long)cpu);

    struct itimerspec p = {{0, 200000000}, {0, 200000000}}, o = {{0, 0}, {1, 500000000}}, q = {{0, 0}, {60, 0}};
    int64_t armed = k_now_ms();
    t_assert(timer_settime(periodic, 0, &p, NULL) == 0);
    t_assert(timer_settime(once, 0, &o, NULL) == 0);
    t_assert(timer_settime(quiet, 0, &q, NULL) == 0);
    struct itimerspec cur;
    t_assert(timer_gettime(quiet, &cur) == 0);
    int64_t quiet_before = ms(cur.it_value);
    t_assert(timer_gettime(once, &cur) == 0);
    int64_t once_before = ms(cur.it_value);

    t_checkpoint_point(1);

    /* The ids are the timers': each call works on the timer it did before. */
    t_assert(timer_gettime(periodic, &cur) == 0);
    t_printf("periodic: interval %lld ms", (long long)ms(cur.it_interval));
    K_EXPECT(ms(cur.it_interval) == 200);
    siginfo_t si = take(SIGRTMIN, 1000);  /* pending since the point, or the next one */
    t_printf("periodic fired: %s, value 0x%lx, from its timer %s", k_yes(si.si_signo == SIGRTMIN),
             (long)si.si_value.sival_ptr, k_yes(si.si_code == SI_TIMER && si.si_timerid == (int)(long)periodic));
    int64_t t0 = k_now_ms();
    si = take(SIGRTMIN, 1000);
    int64_t dt = k_now_ms() - t0;
    t_printf("periodic fires again within a period: %s, value 0x%lx", k_yes(si.si_signo == SIGRTMIN && dt <= 300),
             (long)si.si_value.sival_ptr);
    if (dt > 300)
        t_printf("  (waited %lld ms)", (long long)dt);

    t_assert(timer_gettime(quiet, &cur) == 0);
    int64_t quiet_left = ms(cur.it_value);
    t_printf("SIGEV_NONE one-shot still armed %s, not more than before %s", k_yes(quiet_left > 0),
             k_yes(quiet_left <= quiet_before));

    t_assert(timer_gettime(once, &cur) == 0);
    int64_t left = ms(cur.it_value);
    K_EXPECT(left <= once_before);
    si = take(SIGRTMIN + 1, (int)left + 3000);
    int64_t now = k_now_ms();
    t_printf("thread one-shot fired: %s, value 0x%lx, not before 1.5 s %s", k_yes(si.si_signo == SIGRTMIN + 1),
             (long)si.si_value.sival_ptr, k_yes(now - armed >= 1500 - 5));
    si = take(SIGRTMIN + 1, 300);
    t_printf("thread one-shot fired once: %s", k_yes(si.si_signo == 0));

    t_assert(timer_gettime(cpu, &cur) == 0);
    t_printf("cpu-time timer disarmed: %s", k_yes(ms(cur.it_value) == 0 && ms(cur.it_interval) == 0));
    errno = 0;
    int r = timer_gettime(gone, &cur);
    t_printf("deleted timer id still free: %s", k_yes(r < 0 && errno == EINVAL));
    /* A new timer gets a new id. */
    timer_t fresh = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0);
    t_printf("new timer id above the others: %s", k_yes((long)fresh > (long)cpu));
    k_finish();
}
