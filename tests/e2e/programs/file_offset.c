/* File offsets survive checkpoint/restart: a write-only fd keeps appending
 * where it stopped, a read-only fd continues reading mid-file. */
#define _GNU_SOURCE
#include "crtest.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void write_str(int fd, const char *s) {
    size_t len = strlen(s);
    t_assert(write(fd, s, len) == (ssize_t)len);
}

static void print_file(const char *path) {
    char buf[8192];
    int fd = open(path, O_RDONLY);
    t_assert(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    t_assert(n >= 0);
    buf[n] = '\0';
    close(fd);
    t_printf("--- %s (%zd bytes)", path, n);
    /* Strip the final newline; t_printf adds one. */
    if (n > 0 && buf[n - 1] == '\n')
        buf[n - 1] = '\0';
    t_puts(buf);
    t_puts("---");
}

int main(void) {
    char line[128];

    /* Input file: 40 numbered lines of 16 bytes each. */
    int in = open("in.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    t_assert(in >= 0);
    for (int i = 0; i < 40; i++) {
        snprintf(line, sizeof line, "input line %04d\n", i);
        write_str(in, line);
    }
    t_assert(close(in) == 0);

    int rd = open("in.txt", O_RDONLY);
    t_assert(rd >= 0);
    char first[16 * 20 + 1];
    t_assert(read(rd, first, 16 * 20) == 16 * 20);
    first[16 * 20] = '\0';
    t_printf("read first half, offset %lld", (long long)lseek(rd, 0, SEEK_CUR));

    int out = open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    t_assert(out >= 0);
    for (int i = 0; i < 5; i++) {
        snprintf(line, sizeof line, "before checkpoint %d\n", i);
        write_str(out, line);
    }
    t_printf("out offset before %lld", (long long)lseek(out, 0, SEEK_CUR));

    t_checkpoint_point(1);

    t_printf("out offset after %lld", (long long)lseek(out, 0, SEEK_CUR));
    t_printf("in offset after %lld", (long long)lseek(rd, 0, SEEK_CUR));
    t_printf("out flags accmode %d append %d", fcntl(out, F_GETFL) & O_ACCMODE,
             (fcntl(out, F_GETFL) & O_APPEND) != 0);
    for (int i = 0; i < 5; i++) {
        snprintf(line, sizeof line, "after checkpoint %d\n", i);
        write_str(out, line);
    }
    t_assert(close(out) == 0);

    char second[16 * 20 + 1];
    ssize_t n = read(rd, second, sizeof second);
    t_printf("read second half: %zd bytes", n);
    t_assert(n == 16 * 20);
    second[n] = '\0';
    t_assert(read(rd, line, sizeof line) == 0);
    t_assert(close(rd) == 0);
    t_printf("first half starts: %.15s", first);
    t_printf("second half starts: %.15s", second);
    t_printf("second half ends: %.15s", second + n - 16);

    print_file("out.txt");
    t_pass();
}
