/* Parent P, children C1 (with a child G) and C2. At the point G and C2 are
 * blocked in read() on "go" pipes and C1 in wait4() for G, with three data
 * blocks buffered in a data pipe. Every process keeps the pipes' write ends
 * open, so the children live on without P. After the point P releases G, then
 * C1, then C2 in turn; each takes one data block, prints it and exits; P and
 * C1 reap. Used by run_jobs.py for a restart while the job's pids are taken
 * (modes busy_all, busy_child) and for a plain reference run. */
#define _GNU_SOURCE
#include <sys/wait.h>
#include <unistd.h>

#include "jobtest.h"

#define BLOCK 32

static int go1[2], go2[2], data[2];

static void take(const char *who, int go_fd) {
    char c, buf[BLOCK];
    t_assert(j_read_full(go_fd, &c, 1) == 1);
    t_assert(j_read_full(data[0], buf, sizeof buf) == sizeof buf);
    t_printf("%s released by '%c', data '%.*s'", who, c, BLOCK - 1, buf);
}

int main(void) {
    t_assert(pipe(go1) == 0 && pipe(go2) == 0 && pipe(data) == 0);
    pid_t c1 = fork();
    t_assert(c1 >= 0);
    pid_t g = 0;
    if (c1 == 0) {
        g = fork();
        t_assert(g >= 0);
        if (g == 0) {
            take("G", go1[0]);
            _exit(22);
        }
        int st;
        t_assert(waitpid(g, &st, 0) == g);
        t_printf("C1: G %s", j_status(st));
        take("C1", go1[0]);
        _exit(21);
    }
    pid_t c2 = fork();
    t_assert(c2 >= 0);
    if (c2 == 0) {
        take("C2", go2[0]);
        _exit(23);
    }
    for (int i = 0; i < 3; i++) {
        char buf[BLOCK];
        for (int j = 0; j < BLOCK - 1; j++)
            buf[j] = (char)('a' + (i * 7 + j) % 26);
        buf[BLOCK - 1] = '\0';
        j_write_full(data[1], buf, sizeof buf);
    }
    j_point(1, "%d:S61 %d:S0 quiet", c1, c2);

    t_printf("data in flight after the point: %d bytes", j_pipe_bytes(data[0]));
    j_write_full(go1[1], "gc", 2);
    int st;
    t_assert(waitpid(c1, &st, 0) == c1);
    t_printf("P: C1 %s", j_status(st));
    j_write_full(go2[1], "h", 1);
    t_assert(waitpid(c2, &st, 0) == c2);
    t_printf("P: C2 %s", j_status(st));
    t_pass();
}
