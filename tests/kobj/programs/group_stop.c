/* Job control across a restart, seen from a shell-like parent: four children, each in a
 * process group of its own, stop themselves with SIGTSTP, SIGTTIN, SIGTTOU and SIGSTOP
 * before the point. The parent waits for them (waitpid WUNTRACED) only after the point:
 * each must be reported stopped by its own signal, and on SIGCONT be reported continued
 * and go on (read a byte the parent then sends, exit 20 + its number). Run with cr_restart
 * --restore-pgid: the children keep their groups, which are not orphaned (the kernel
 * discards SIGTSTP/SIGTTIN/SIGTTOU in an orphaned group: crest then stops with SIGSTOP). */
#include "kobj.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

static const int kSignals[] = {SIGTSTP, SIGTTIN, SIGTTOU, SIGSTOP};
#define N (int)(sizeof kSignals / sizeof kSignals[0])

static char state_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return '?';
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    return p && p[1] && p[2] ? p[2] : '?';
}

int main(void) {
    setpgid(0, 0);  /* a group of the job's own, made again by --restore-pgid */
    pid_t kids[N];
    int go[2];
    t_assert(pipe(go) == 0);
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        t_assert(kids[i] >= 0);
        if (kids[i] == 0) {
            setpgid(0, 0);
            raise(kSignals[i]);
            char c;
            _exit(read(go[0], &c, 1) == 1 ? 20 + i : 1);
        }
        setpgid(kids[i], kids[i]);
    }
    /* Stopped, not yet waited for. */
    for (int i = 0; i < N; i++) {
        int64_t end = k_now_ms() + K_WAIT_MS;
        while (state_of(kids[i]) != 'T' && k_now_ms() < end) k_sleep_ms(5);
        t_assert(state_of(kids[i]) == 'T');
    }

    t_checkpoint_point(1);

    for (int i = 0; i < N; i++) {
        int st = 0;
        t_assert(waitpid(kids[i], &st, WUNTRACED) == kids[i]);
        t_printf("child %d: stopped %s, by %s (want %s)", i, k_yes(WIFSTOPPED(st)),
                 WIFSTOPPED(st) ? strsignal(WSTOPSIG(st)) : "-", strsignal(kSignals[i]));
        K_EXPECT(WIFSTOPPED(st) && WSTOPSIG(st) == kSignals[i]);
    }
    for (int i = 0; i < N; i++) {
        int st = 0;
        t_assert(kill(kids[i], SIGCONT) == 0);
        t_assert(waitpid(kids[i], &st, WCONTINUED) == kids[i]);
        t_printf("child %d: continued %s", i, k_yes(WIFCONTINUED(st)));
        k_write_all(go[1], "g", 1);
        t_assert(waitpid(kids[i], &st, 0) == kids[i]);
        t_printf("child %d: exit %d", i, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        K_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 20 + i);
    }
    k_finish();
}
