/* A parent and 4 children: parent->child work pipes, one child->parent result
 * pipe, and a MAP_SHARED|MAP_ANONYMOUS counter array.
 *
 * The parent fills each work pipe with ITEMS items and closes its ends, then
 * reads nothing until the point: the children fill the result pipe (64 KiB,
 * 512 records) and block in write(), with unread items left in their work
 * pipes. At the point the parent waits in sigsuspend. After it, the parent
 * prints what is buffered / counted (bytes in flight and shared memory must
 * have survived a restart), collects every record (checking each child's
 * sequence and values), reaps the children and prints their exit statuses and
 * the final shared counters (still shared after a restart, or they stay
 * behind).
 *
 * With --keep-writers the parent keeps the work pipes' write ends open until
 * after the point (so that no pipe of the image is without a writer). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobtest.h"

#define NCHILD 4
#define ITEMS 600 /* > 512 records the result pipe holds: no child can finish early */

struct item {
    uint32_t child, seq, arg, pad;
};
struct result {
    uint32_t child, seq;
    uint64_t value;
    char pad[112];
};
_Static_assert(sizeof(struct item) == 16, "item size");
_Static_assert(sizeof(struct result) == 128, "result size");

#define DONE_SEQ 0xffffffffu

static uint64_t work_fn(uint32_t child, uint32_t seq, uint32_t arg) {
    uint64_t x = ((uint64_t)child << 40) ^ ((uint64_t)seq << 20) ^ arg;
    for (int i = 0; i < 50; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

static void child_main(int idx, int work_fd, int result_fd, volatile uint64_t *counters) {
    struct item it;
    struct result res;
    uint32_t done = 0;
    memset(&res, 0, sizeof res);
    while (j_read_full(work_fd, &it, sizeof it) == sizeof it) {
        t_assert(it.child == (uint32_t)idx && it.seq == done);
        res.child = (uint32_t)idx;
        res.seq = it.seq;
        res.value = work_fn(it.child, it.seq, it.arg);
        memset(res.pad, 'a' + (int)(it.seq % 26), sizeof res.pad);
        j_write_full(result_fd, &res, sizeof res);
        __atomic_add_fetch(&counters[idx], 1, __ATOMIC_SEQ_CST);
        done++;
    }
    res.child = (uint32_t)idx;
    res.seq = DONE_SEQ;
    res.value = done;
    memset(res.pad, 'z', sizeof res.pad);
    j_write_full(result_fd, &res, sizeof res);
    _exit(10 + idx);
}

int main(int argc, char **argv) {
    int keep_writers = argc > 1 && strcmp(argv[1], "--keep-writers") == 0;
    int writers[NCHILD];
    volatile uint64_t *counters = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    t_assert(counters != MAP_FAILED);
    int rp[2];
    t_assert(pipe(rp) == 0);
    pid_t kids[NCHILD];
    for (int i = 0; i < NCHILD; i++) {
        int wp[2];
        t_assert(pipe(wp) == 0);
        for (uint32_t s = 0; s < ITEMS; s++) {
            struct item it = {(uint32_t)i, s, s * 7 + (uint32_t)i, 0};
            j_write_full(wp[1], &it, sizeof it);
        }
        kids[i] = fork();
        t_assert(kids[i] >= 0);
        if (kids[i] == 0) {
            for (int j = 0; keep_writers && j < i; j++)
                close(writers[j]);
            close(wp[1]);
            close(rp[0]);
            child_main(i, wp[0], rp[1], counters);
        }
        close(wp[0]);
        if (keep_writers)
            writers[i] = wp[1];
        else
            close(wp[1]);
    }
    close(rp[1]);

    /* Wait for the result pipe to fill up. */
    int cap = fcntl(rp[0], F_GETPIPE_SZ);
    t_assert(cap > 0);
    for (int i = 0; j_pipe_bytes(rp[0]) < cap; i++) {
        t_assert(i < 20000);
        j_msleep(1);
    }
    j_point(1, "%d:S1 %d:S1 %d:S1 %d:S1 quiet", kids[0], kids[1], kids[2], kids[3]);

    if (keep_writers) {
        int left = 0;
        for (int i = 0; i < NCHILD; i++) {
            left += j_pipe_bytes(writers[i]);
            close(writers[i]);
        }
        t_printf("work items still in the work pipes: %d", left / (int)sizeof(struct item));
    }
    int buffered = j_pipe_bytes(rp[0]);
    uint64_t sum = 0;
    for (int i = 0; i < NCHILD; i++)
        sum += counters[i];
    t_printf("result pipe: %d bytes buffered, capacity %d, full: %s", buffered,
             fcntl(rp[0], F_GETPIPE_SZ), buffered == cap ? "yes" : "no");
    t_printf("records counted in shared memory: %llu (pipe holds %d)",
             (unsigned long long)sum, buffered / (int)sizeof(struct result));

    uint32_t next[NCHILD] = {0}, done_count[NCHILD] = {0};
    uint64_t check[NCHILD] = {0};
    int bad = 0, total = 0;
    struct result res;
    size_t n;
    while ((n = j_read_full(rp[0], &res, sizeof res)) == sizeof res) {
        total++;
        if (res.child >= NCHILD) {
            bad++;
            continue;
        }
        int c = (int)res.child;
        if (res.seq == DONE_SEQ) {
            done_count[c] = (uint32_t)res.value;
            continue;
        }
        if (res.seq != next[c] || res.value != work_fn(res.child, res.seq, res.seq * 7 + res.child) ||
            res.pad[0] != 'a' + (int)(res.seq % 26) || res.pad[111] != res.pad[0]) {
            if (bad < 5)
                t_printf("bad record: child %u seq %u (expected %u)", res.child, res.seq, next[c]);
            bad++;
        }
        next[c] = res.seq + 1;
        check[c] = check[c] * 31 + res.value;
    }
    t_printf("records: %d, bad: %d, trailing bytes: %zu", total, bad, n);
    for (int i = 0; i < NCHILD; i++) {
        int st;
        t_assert(waitpid(kids[i], &st, 0) == kids[i]);
        t_printf("child %d: %u results, reported %u items, checksum %016llx, %s", i, next[i],
                 done_count[i], (unsigned long long)check[i], j_status(st));
    }
    t_assert(waitpid(-1, NULL, WNOHANG) == -1);
    for (int i = 0; i < NCHILD; i++)
        t_printf("counter %d: %llu", i, (unsigned long long)counters[i]);
    t_pass();
}
