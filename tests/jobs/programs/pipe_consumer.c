/* Last stage of tree_shell_pipeline: `... | pipe_consumer`.
 * Sleeps at a checkpoint point before reading anything, so that every pipe
 * upstream is full and every producer blocked in write(); then reads all of
 * stdin and prints line and byte counts, a hash, and the first and last line. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "jobtest.h"

int main(void) {
    j_point(1, "quiet");
    int inflight = j_pipe_bytes(0);
    t_printf("stdin pipe holds data after the point: %s", inflight > 0 ? "yes" : "no");
    static char buf[65536];
    char first[128] = "", last[128] = "", cur[128];
    size_t curlen = 0;
    uint64_t bytes = 0, lines = 0, hash = 1469598103934665603ull;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) != 0) {
        t_assert(n > 0);
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            hash = (hash ^ (unsigned char)c) * 1099511628211ull;
            if (c == '\n') {
                cur[curlen] = '\0';
                if (lines == 0)
                    strcpy(first, cur);
                strcpy(last, cur);
                lines++;
                curlen = 0;
            } else if (curlen < sizeof cur - 1) {
                cur[curlen++] = c;
            }
        }
        bytes += (uint64_t)n;
    }
    t_printf("lines %llu bytes %llu fnv %016llx first '%s' last '%s'", (unsigned long long)lines,
             (unsigned long long)bytes, (unsigned long long)hash, first, last);
    t_pass();
}
