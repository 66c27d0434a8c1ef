/* A process group M1 (leader), M2, M3 whose parent L is not in the group.
 * L also starts a bystander X in its own group, then exits: the members are
 * orphans (their parent, the runner, is not in the group either).
 * The members pass a token around a ring of pipes M1->M2->M3->M1 for ROUNDS
 * rounds; at round POINT_ROUND M1 waits at the point while the token M3 sent
 * back is still in the pipe and M2, M3 are blocked in read(). After the point
 * each member prints whether its process group is still the original one
 * (M1's pid) and the same as M1's. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobtest.h"

#define ROUNDS 6
#define POINT_ROUND 3

struct token {
    int round;
    char payload[508];
};

static pid_t m1;
static int after_point_printed;

static void pgid_line(const char *who) {
    pid_t g = getpgid(0), g1 = getpgid(m1);
    t_printf("%s: pgid %s, same group as M1: %s, session as M1: %s", who,
             g == m1 ? "orig" : "other", g == g1 ? "yes" : "no",
             getsid(0) == getsid(m1) ? "yes" : "no");
    after_point_printed = 1;
}

static void fill(struct token *t, int round, char c) {
    t->round = round;
    memset(t->payload, c, sizeof t->payload);
}

static void forward(const char *who, int in, int out, char c) {
    struct token t;
    while (j_read_full(in, &t, sizeof t) == sizeof t) {
        if (t.round > POINT_ROUND && !after_point_printed)
            pgid_line(who);
        t_printf("round %d: %s got '%c' payload", t.round, who, t.payload[0]);
        fill(&t, t.round, c);
        j_write_full(out, &t, sizeof t);
    }
    t_printf("%s done", who);
    close(out);
}

static void wait_orphaned(pid_t parent) {
    j_wait_until(getppid() != parent);
}

int main(void) {
    pid_t l = getpid();
    int p12[2], p23[2], p31[2];
    t_assert(pipe(p12) == 0 && pipe(p23) == 0 && pipe(p31) == 0);

    m1 = fork();
    t_assert(m1 >= 0);
    if (m1 == 0) {
        m1 = getpid();
        t_assert(setpgid(0, 0) == 0);
        close(p12[0]), close(p23[0]), close(p23[1]), close(p31[1]);
        wait_orphaned(l);
        struct token t;
        for (int r = 0; r < ROUNDS; r++) {
            t_printf("round %d: M1 sends", r);
            fill(&t, r, 'a' + r);
            j_write_full(p12[1], &t, sizeof t);
            if (r == POINT_ROUND) {
                j_wait_until(j_pipe_bytes(p31[0]) >= (int)sizeof t);
                j_point(1, "quiet");
                t_printf("token in flight after the point: %d bytes", j_pipe_bytes(p31[0]));
                pgid_line("M1");
            }
            t_assert(j_read_full(p31[0], &t, sizeof t) == sizeof t);
            t_printf("round %d: M1 got back '%c' payload", t.round, t.payload[0]);
        }
        close(p12[1]);
        t_assert(j_read_full(p31[0], &t, sizeof t) == 0);
        t_puts("M1 done");
        t_pass(); /* exit 0 */
    }
    (void)setpgid(m1, m1); /* also done by M1: no race */

    pid_t m2 = fork();
    t_assert(m2 >= 0);
    if (m2 == 0) {
        t_assert(setpgid(0, m1) == 0);
        close(p12[1]), close(p23[0]), close(p31[0]), close(p31[1]);
        wait_orphaned(l);
        forward("M2", p12[0], p23[1], 'B');
        _exit(4);
    }
    (void)setpgid(m2, m1);

    pid_t m3 = fork();
    t_assert(m3 >= 0);
    if (m3 == 0) {
        t_assert(setpgid(0, m1) == 0);
        close(p12[0]), close(p12[1]), close(p23[1]), close(p31[0]);
        wait_orphaned(l);
        forward("M3", p23[0], p31[1], 'C');
        _exit(5);
    }
    (void)setpgid(m3, m1);

    j_start_bystander();
    t_assert(getpgid(m1) == m1 && getpgid(m2) == m1 && getpgid(m3) == m1);
    _exit(0);
}
