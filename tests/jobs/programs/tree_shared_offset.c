/* Parent and child write fixed-size records, in turns, through the SAME file
 * descriptor (one open file description, shared offset, no O_APPEND). The
 * turn is passed over two pipes. At the point the child's turn token is in
 * the pipe to the parent and the child is blocked in read(). At the end the
 * parent checks the file: every record where it belongs, none overwritten. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobtest.h"

#define ROUNDS 200
#define POINT_ROUND 100
#define RECLEN 16
#define FILE_NAME "records.dat"

static void put_record(int fd, char who, int round) {
    char rec[32];
    snprintf(rec, sizeof rec, "%c %05d ------\n", who, round % 100000);
    j_write_full(fd, rec, RECLEN);
}

int main(void) {
    int fd = open(FILE_NAME, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    t_assert(fd >= 0);
    int pc[2], cp[2];
    t_assert(pipe(pc) == 0 && pipe(cp) == 0);
    pid_t k = fork();
    t_assert(k >= 0);
    if (k == 0) {
        close(pc[1]), close(cp[0]);
        int r;
        while (j_read_full(pc[0], &r, sizeof r) == sizeof r) {
            put_record(fd, 'C', r);
            j_write_full(cp[1], &r, sizeof r);
        }
        t_printf("child: offset at end %lld", (long long)lseek(fd, 0, SEEK_CUR));
        _exit(9);
    }
    close(pc[0]), close(cp[1]);
    for (int r = 0; r < ROUNDS; r++) {
        put_record(fd, 'P', r);
        j_write_full(pc[1], &r, sizeof r);
        if (r == POINT_ROUND) {
            j_wait_until(j_pipe_bytes(cp[0]) >= (int)sizeof r);
            j_point(1, "%d:S0", k);
            t_printf("token in flight after the point: %d bytes, offset %lld", j_pipe_bytes(cp[0]),
                     (long long)lseek(fd, 0, SEEK_CUR));
        }
        int back;
        t_assert(j_read_full(cp[0], &back, sizeof back) == sizeof back && back == r);
    }
    close(pc[1]);
    int st;
    t_assert(waitpid(k, &st, 0) == k);
    t_printf("child: %s", j_status(st));
    t_printf("parent: offset at end %lld", (long long)lseek(fd, 0, SEEK_CUR));

    int rfd = open(FILE_NAME, O_RDONLY | O_CLOEXEC);
    t_assert(rfd >= 0);
    static char data[2 * ROUNDS * RECLEN + 64];
    size_t n = j_read_full(rfd, data, sizeof data);
    int bad = 0;
    for (int i = 0; i < 2 * ROUNDS; i++) {
        char want[32];
        snprintf(want, sizeof want, "%c %05d ------\n", i % 2 ? 'C' : 'P', i / 2);
        if ((size_t)(i + 1) * RECLEN > n || memcmp(data + i * RECLEN, want, RECLEN) != 0) {
            if (bad < 5)
                t_printf("record %d is wrong: '%.15s' instead of '%.15s'", i,
                         (size_t)(i + 1) * RECLEN > n ? "(missing)" : data + i * RECLEN, want);
            bad++;
        }
    }
    t_printf("file: %zu bytes, %d records wrong", n, bad);
    t_pass();
}
