/* Per-process and per-thread prctl attributes across checkpoint/restart, each checked
 * by the process itself after the point:
 *   P (this process): oom_score_adj 300 (raised: an ordinary user may), child subreaper,
 *     THP disabled, keepcaps, no_new_privs, a membarrier registration (PRIVATE_EXPEDITED:
 *     the command itself fails with EPERM unless registered); as root also dumpable 0
 *     and loginuid 4242 (an ordinary user cannot be ptraced non-dumpable, nor set a
 *     loginuid).
 *   G: a grandchild orphaned before the point (its parent C exited), so reparented to P
 *     the subreaper; its parent-death signal is SIGUSR1 (ignored: G only reports it).
 * After the point: P asks G for its pdeathsig and whether its parent is P; then P forks
 * C2, which forks G2 and exits: G2 must be reparented to P (the subreaper flag came back).
 * Only values are printed, never pids. */
#include "kobj.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define MB_PRIVATE_EXPEDITED (1 << 3)
#define MB_REGISTER_PRIVATE_EXPEDITED (1 << 4)
#define MB_GET_REGISTRATIONS (1 << 9)

static int root;

static int read_int_file(const char *path) {
    char buf[32] = {0};
    int fd = open(path, O_RDONLY);
    t_assert(fd >= 0);
    t_assert(read(fd, buf, sizeof buf - 1) > 0);
    close(fd);
    return atoi(buf);
}

static void write_file(const char *path, const char *value) {
    int fd = open(path, O_WRONLY);
    t_assert(fd >= 0);
    t_assert(write(fd, value, strlen(value)) == (ssize_t)strlen(value));
    close(fd);
}

static void report(const char *when) {
    int sub = -1;
    t_assert(prctl(PR_GET_CHILD_SUBREAPER, &sub, 0, 0, 0) == 0);
    int oom = read_int_file("/proc/self/oom_score_adj");
    int thp = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
    int keep = prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0);
    int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    long regs = syscall(SYS_membarrier, MB_GET_REGISTRATIONS, 0, 0);
    long mb = syscall(SYS_membarrier, MB_PRIVATE_EXPEDITED, 0, 0);
    t_printf("%s: oom_score_adj %d subreaper %d thp_disable %d keepcaps %d no_new_privs %d dumpable %d", when, oom,
             sub, thp, keep, nnp, dumpable);
    t_printf("%s: membarrier registrations 0x%lx, private expedited %s", when, regs, mb == 0 ? "ok" : k_errname(errno));
    K_EXPECT(oom == 300 && sub == 1 && thp == 1 && keep == 1 && nnp == 1 && dumpable == (root ? 0 : 1));
    K_EXPECT(regs == MB_REGISTER_PRIVATE_EXPEDITED && mb == 0);
    if (root) {
        int login = read_int_file("/proc/self/loginuid");
        t_printf("%s: loginuid %d", when, login);
        K_EXPECT(login == 4242);
    }
}

/* G: answers each request {set, parent} from P with its pdeathsig and whether its
 * parent is `parent` (P's pid, as P sees it); `set`: first set the signal (once the
 * reparenting is over: the reparenting itself sends it). parent 0: exit. */
static void grandchild(int in, int out) {
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigaction(SIGUSR1, &sa, NULL);
    for (;;) {
        int req[2];
        k_read_full(in, req, sizeof req);
        int parent = req[1];
        if (parent == 0)
            _exit(0);
        if (req[0])
            t_assert(prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0) == 0);
        int sig = -1;
        t_assert(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) == 0);
        int answer[2] = {sig, getppid() == parent};
        k_write_all(out, answer, sizeof answer);
    }
}

/* Forks C, which forks G and exits; returns G's pipes (G is then P's child). */
static void orphan(int *to_g, int *from_g) {
    int down[2], up[2];
    t_assert(pipe(down) == 0 && pipe(up) == 0);
    pid_t c = fork();
    t_assert(c >= 0);
    if (c == 0) {
        pid_t g = fork();
        t_assert(g >= 0);
        if (g == 0) {
            close(down[1]);
            close(up[0]);
            grandchild(down[0], up[1]);
        }
        _exit(0);
    }
    int st;
    t_assert(waitpid(c, &st, 0) == c && WIFEXITED(st));
    close(down[0]);
    close(up[1]);
    *to_g = down[1];
    *from_g = up[0];
}

static void ask(int to_g, int from_g, int set, const char *who) {
    int answer[2], req[2] = {set, getpid()};
    k_write_all(to_g, req, sizeof req);
    k_read_full(from_g, answer, sizeof answer);
    t_printf("%s: pdeathsig %d, parent is the subreaper %s", who, answer[0], k_yes(answer[1]));
    K_EXPECT(answer[0] == SIGUSR1);
}

int main(void) {
    root = geteuid() == 0;
    write_file("/proc/self/oom_score_adj", "300");
    t_assert(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0);
    t_assert(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0);
    t_assert(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0);
    t_assert(syscall(SYS_membarrier, MB_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0);
    if (root) {
        t_assert(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0);
        write_file("/proc/self/loginuid", "4242");
    }
    int to_g, from_g;
    orphan(&to_g, &from_g);
    ask(to_g, from_g, 1, "before G");
    t_assert(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    report("before");

    t_checkpoint_point(1);

    report("after");
    ask(to_g, from_g, 0, "after G");
    /* A new orphan comes to P. */
    int to_g2, from_g2;
    orphan(&to_g2, &from_g2);
    ask(to_g2, from_g2, 1, "after G2");
    int bye[2] = {0, 0};
    k_write_all(to_g, bye, sizeof bye);
    k_write_all(to_g2, bye, sizeof bye);
    for (int i = 0; i < 2; i++) {
        int st;
        pid_t p = wait(&st);
        t_printf("grandchild reaped by the subreaper: %s", k_ok(p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0));
    }
    k_finish();
}
