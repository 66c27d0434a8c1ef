/* A session: S (setsid) with children C1 (S's group, with a child G1) and C2
 * (its own process group), started by L, which is outside the session, also
 * starts a bystander X there and exits. At the point all members are blocked
 * in read(). After it, S sends a message down S->C1->G1 and to C2; each
 * member prints whether its session is S and its process group the expected
 * one, and S reaps its children. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobtest.h"

static pid_t s;

static void ids_line(const char *who, pid_t want_pgid) {
    t_printf("%s: sid is S: %s, pgid is %s: %s", who, getsid(0) == s ? "yes" : "no",
             want_pgid == s ? "S" : "own", getpgid(0) == want_pgid ? "yes" : "no");
}

static void recv_msg(const char *who, int fd, char *buf) {
    size_t n = j_read_full(fd, buf, 8);
    t_assert(n == 8);
    t_printf("%s got '%.8s'", who, buf);
}

int main(void) {
    pid_t l = getpid();
    int a[2], b[2], c[2], rep[2];
    t_assert(pipe(a) == 0 && pipe(b) == 0 && pipe(c) == 0 && pipe(rep) == 0);

    s = fork();
    t_assert(s >= 0);
    if (s == 0) {
        s = getpid();
        t_assert(setsid() == s);
        char buf[16];
        pid_t c1 = fork();
        t_assert(c1 >= 0);
        if (c1 == 0) {
            pid_t g1 = fork();
            t_assert(g1 >= 0);
            if (g1 == 0) {
                close(a[0]), close(a[1]), close(b[1]), close(c[0]), close(c[1]), close(rep[0]);
                close(rep[1]);
                recv_msg("G1", b[0], buf);
                ids_line("G1", s);
                _exit(6);
            }
            close(a[1]), close(b[0]), close(c[0]), close(c[1]), close(rep[0]);
            j_write_full(rep[1], &g1, sizeof g1);
            close(rep[1]);
            recv_msg("C1", a[0], buf);
            ids_line("C1", s);
            j_write_full(b[1], "to-g1..!", 8);
            int st;
            t_assert(waitpid(g1, &st, 0) == g1);
            t_printf("C1: G1 %s", j_status(st));
            _exit(7);
        }
        pid_t c2 = fork();
        t_assert(c2 >= 0);
        if (c2 == 0) {
            t_assert(setpgid(0, 0) == 0);
            close(a[0]), close(a[1]), close(b[0]), close(b[1]), close(c[1]), close(rep[0]);
            close(rep[1]);
            recv_msg("C2", c[0], buf);
            ids_line("C2", getpid());
            _exit(8);
        }
        (void)setpgid(c2, c2);
        close(a[0]), close(b[0]), close(b[1]), close(c[0]), close(rep[1]);
        pid_t g1;
        t_assert(j_read_full(rep[0], &g1, sizeof g1) == sizeof g1);
        close(rep[0]);
        j_wait_until(getppid() != l);
        j_wait_until(getpgid(c2) == c2);
        j_point(1, "%d:S0 %d:S0 %d:S0 quiet", c1, g1, c2);

        ids_line("S", s);
        j_write_full(a[1], "to-c1..!", 8);
        int st;
        t_assert(waitpid(c1, &st, 0) == c1);
        t_printf("S: C1 %s", j_status(st));
        j_write_full(c[1], "to-c2..!", 8);
        t_assert(waitpid(c2, &st, 0) == c2);
        t_printf("S: C2 %s", j_status(st));
        t_pass();
    }

    j_start_bystander();
    _exit(0);
}
