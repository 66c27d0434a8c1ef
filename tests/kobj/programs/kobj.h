/* Small helpers shared by the tests/kobj programs (on top of ../e2e/lib/crtest.h).
 * Header-only: every function is static. */
#ifndef CREST_KOBJ_H
#define CREST_KOBJ_H

#define _GNU_SOURCE
#include "crtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Expectations. Programs print what they observe (compared by the runner
 * with an uninterrupted run) and also check it against what it must be: a
 * failed check prints a line and makes k_finish() exit 1 instead of printing
 * PASS, so a wrong expectation fails even the plain run. */
static int k_failures;

static inline int k_expect_at(int cond, const char *what, int line) {
    if (!cond) {
        k_failures++;
        t_printf("EXPECTATION FAILED (line %d): %s", line, what);
    }
    return cond;
}
#define K_EXPECT(cond) k_expect_at((cond) != 0, #cond, __LINE__)

/* "yes"/"NO" and "ok"/"WRONG" for printing a check; a false one counts as a
 * failed expectation. */
static inline const char *k_yes(int cond) {
    if (!cond)
        k_failures++;
    return cond ? "yes" : "NO";
}
static inline const char *k_ok(int cond) {
    if (!cond)
        k_failures++;
    return cond ? "ok" : "WRONG";
}

/* Ends the program: PASS and exit 0, or exit 1 if an expectation failed. */
static inline void k_finish(void) {
    if (k_failures) {
        t_printf("%d expectation(s) failed", k_failures);
        exit(1);
    }
    t_pass();
}

/* For a forked child: exit 0, or 1 if an expectation failed. */
static inline void k_child_exit(void) {
    _exit(k_failures ? 1 : 0);
}

/* Deterministic bytes: message `seed`, byte i. */
static inline uint8_t k_byte(unsigned seed, size_t i) {
    return (uint8_t)(seed * 131u + i * 7u + (i >> 8) * 13u + 1u);
}

static inline void k_fill(void *buf, size_t len, unsigned seed) {
    uint8_t *p = (uint8_t *)buf;
    for (size_t i = 0; i < len; i++)
        p[i] = k_byte(seed, i);
}

/* Offset of the first byte that differs from k_fill(seed), or len if none. */
static inline size_t k_check(const void *buf, size_t len, unsigned seed) {
    const uint8_t *p = (const uint8_t *)buf;
    for (size_t i = 0; i < len; i++)
        if (p[i] != k_byte(seed, i))
            return i;
    return len;
}

/* FNV-1a, for printing a digest of a byte stream. */
static inline uint32_t k_fnv(uint32_t h, const void *buf, size_t len) {
    const uint8_t *p = (const uint8_t *)buf;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}
#define K_FNV_INIT 2166136261u

static inline const char *k_errname(int e) {
    switch (e) {
    case 0: return "OK";
    case EAGAIN: return "EAGAIN";
    case EEXIST: return "EEXIST";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EPIPE: return "EPIPE";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENOTCONN: return "ENOTCONN";
    case EMSGSIZE: return "EMSGSIZE";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    default: return "E?";
    }
}

static inline void k_write_all(int fd, const void *buf, size_t len) {
    const char *p = (const char *)buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        t_assert(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

/* Waits until fd is readable (or has a connection to accept); aborts the
 * program, naming fd, if that takes more than K_WAIT_MS: data lost across a
 * restart then fails the test at once instead of hanging it. */
#define K_WAIT_MS 10000
static inline void k_wait_in(int fd) {
    struct pollfd pf = {fd, POLLIN, 0};
    int r;
    while ((r = poll(&pf, 1, K_WAIT_MS)) < 0 && errno == EINTR)
        ;
    t_assert(r >= 0);
    if (r == 0) {
        char msg[96];
        int n = snprintf(msg, sizeof msg, "pid %d: fd %d not readable within %d ms\n",
                         (int)getpid(), fd, K_WAIT_MS);
        if (write(2, msg, (size_t)n) < 0) {
        }
        abort();
    }
}

/* Reads exactly len bytes (blocking fd; at most K_WAIT_MS for each piece). */
static inline void k_read_full(int fd, void *buf, size_t len) {
    char *p = (char *)buf;
    while (len > 0) {
        k_wait_in(fd);
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        t_assert(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static inline int64_t k_now_ms(void) {
    struct timespec ts;
    t_assert(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void k_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        t_assert(errno == EINTR);
}

static inline int k_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    t_assert(fl >= 0);
    return (fl & O_NONBLOCK) != 0;
}

static inline int k_cloexec(int fd) {
    int fl = fcntl(fd, F_GETFD);
    t_assert(fl >= 0);
    return (fl & FD_CLOEXEC) != 0;
}

/* Value of "key:" in /proc/self/fdinfo/fd (the rest of the line, trimmed),
 * copied to out; returns 0, or -1 if absent. */
static inline int k_fdinfo(int fd, const char *key, char *out, size_t cap) {
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    t_assert(f >= 0);
    ssize_t n = read(f, buf, sizeof buf - 1);
    t_assert(n >= 0);
    close(f);
    buf[n] = '\0';
    size_t klen = strlen(key);
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            char *v = line + klen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            snprintf(out, cap, "%s", v);
            return 0;
        }
        line = nl ? nl + 1 : NULL;
    }
    return -1;
}

/* "exit N" / "signal N" for a wait status. */
static inline const char *k_status(int st) {
    static char buf[32];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "signal %d", WTERMSIG(st));
    else
        snprintf(buf, sizeof buf, "status 0x%x", st);
    return buf;
}

#endif
