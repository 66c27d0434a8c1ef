/* Helpers for crest end-to-end test programs. */
#define _GNU_SOURCE
#include "crtest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            abort();
        }
        buf += n;
        len -= (size_t)n;
    }
}

void t_puts(const char *s) {
    size_t len = strlen(s);
    char stackbuf[512];
    if (len + 1 <= sizeof stackbuf) {
        /* One write per line keeps lines whole. */
        memcpy(stackbuf, s, len);
        stackbuf[len] = '\n';
        write_all(1, stackbuf, len + 1);
    } else {
        write_all(1, s, len);
        write_all(1, "\n", 1);
    }
}

void t_printf(const char *fmt, ...) {
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    if ((size_t)n > sizeof buf - 2)
        n = (int)(sizeof buf - 2);
    buf[n] = '\n';
    write_all(1, buf, (size_t)n + 1);
}

void t_assert_fail(const char *cond, const char *file, int line) {
    int err = errno;
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "ASSERT FAILED %s:%d: %s (errno %d: %s)\n",
                     file, line, cond, err, strerror(err));
    if (n > 0)
        write_all(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    abort();
}

static void control_append(const char *path, const char *line) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    t_assert(fd >= 0);
    write_all(fd, line, strlen(line));
    t_assert(close(fd) == 0);
}

static volatile sig_atomic_t usr2_seen;

static void usr2_handler(int sig) {
    (void)sig;
    usr2_seen = 1;
}

void t_checkpoint_point(int n) {
    static int installed;
    const char *path = getenv("CRTEST_CONTROL");
    if (path == NULL || *path == '\0')
        return;
    if (!installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = usr2_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        t_assert(sigaction(SIGUSR2, &sa, NULL) == 0);
        installed = 1;
    }
    sigset_t block, old, waitmask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    t_assert(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    usr2_seen = 0;

    char line[64];
    snprintf(line, sizeof line, "CKPT %d\n", n);
    control_append(path, line);

    /* Other handled signals (e.g. SIGALRM) may end sigsuspend early. */
    waitmask = old;
    sigdelset(&waitmask, SIGUSR2);
    while (!usr2_seen)
        sigsuspend(&waitmask);
    t_assert(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
}

void t_mark(const char *word) {
    const char *path = getenv("CRTEST_CONTROL");
    if (path == NULL || *path == '\0')
        return;
    char line[256];
    snprintf(line, sizeof line, "%s\n", word);
    control_append(path, line);
}

void t_pass(void) {
    t_puts("PASS");
    exit(0);
}
