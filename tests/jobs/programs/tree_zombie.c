/* Zombies at checkpoint time: A exited with 7, B died of SIGUSR1, D was killed
 * with SIGKILL; none is reaped before the point. C is alive, blocked in read().
 * After the point the parent checks they are still zombies, reaps them (exact
 * wait statuses) and C. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobtest.h"

static void wait_exited_nowait(pid_t pid) {
    siginfo_t si;
    for (;;) {
        int r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
        if (r == 0)
            return;
        t_assert(errno == EINTR);
    }
}

int main(void) {
    int cp[2];
    t_assert(pipe(cp) == 0);

    pid_t a = fork();
    t_assert(a >= 0);
    if (a == 0)
        _exit(7);
    pid_t b = fork();
    t_assert(b >= 0);
    if (b == 0) {
        kill(getpid(), SIGUSR1);
        for (;;)
            pause();
    }
    pid_t c = fork();
    t_assert(c >= 0);
    if (c == 0) {
        close(cp[1]);
        char buf[16];
        size_t n = j_read_full(cp[0], buf, 3);
        t_printf("C read %zu bytes: %.3s", n, buf);
        _exit(3);
    }
    close(cp[0]);
    pid_t d = fork();
    t_assert(d >= 0);
    if (d == 0) {
        for (;;)
            pause();
    }
    t_assert(kill(d, SIGKILL) == 0);
    wait_exited_nowait(a);
    wait_exited_nowait(b);
    wait_exited_nowait(d);

    j_point(1, "%d:Z %d:Z %d:Z %d:S0", a, b, d, c);

    t_printf("A zombie: %s, B zombie: %s, D zombie: %s, C alive: %s",
             j_proc_state(a) == 'Z' ? "yes" : "no", j_proc_state(b) == 'Z' ? "yes" : "no",
             j_proc_state(d) == 'Z' ? "yes" : "no", j_proc_state(c) == 'S' ? "yes" : "no");
    int st;
    t_assert(waitpid(a, &st, 0) == a);
    t_printf("A: %s", j_status(st));
    t_assert(waitpid(b, &st, 0) == b);
    t_printf("B: %s", j_status(st));
    t_assert(waitpid(d, &st, 0) == d);
    t_printf("D: %s", j_status(st));
    j_write_full(cp[1], "go!", 3);
    t_assert(waitpid(c, &st, 0) == c);
    t_printf("C: %s", j_status(st));
    t_assert(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD);
    t_puts("no other children");
    t_pass();
}
