/* Helpers for crest job tests; see jobtest.h. */
#define _GNU_SOURCE
#include "jobtest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void control_append(const char *line) {
    const char *path = getenv("CRTEST_CONTROL");
    if (path == NULL || *path == '\0')
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    t_assert(fd >= 0);
    j_write_full(fd, line, strlen(line));
    t_assert(close(fd) == 0);
}

void j_point(int n, const char *specs_fmt, ...) {
    char specs[2048], line[2200];
    va_list ap;
    va_start(ap, specs_fmt);
    vsnprintf(specs, sizeof specs, specs_fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "JOB %d %s\n", (int)getpid(), specs);
    control_append(line);
    t_checkpoint_point(n);
}

void j_bystander(pid_t pid) {
    char line[64];
    snprintf(line, sizeof line, "BYSTANDER %d\n", (int)pid);
    control_append(line);
}

pid_t j_start_bystander(void) {
    pid_t x = fork();
    t_assert(x >= 0);
    if (x == 0) {
        for (int fd = 0; fd < 64; fd++)
            if (fd != 2)
                close(fd);
        for (;;)
            pause();
    }
    j_bystander(x);
    return x;
}

size_t j_read_full(int fd, void *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, (char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        t_assert(n >= 0);
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return done;
}

void j_write_full(int fd, const void *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        t_assert(n > 0);
        done += (size_t)n;
    }
}

int j_pipe_bytes(int fd) {
    int n = -1;
    t_assert(ioctl(fd, FIONREAD, &n) == 0);
    return n;
}

char j_proc_state(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : '?';
}

void j_msleep(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const char *j_status(int st) {
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by %s%s", sigabbrev_np(WTERMSIG(st)),
                 WCOREDUMP(st) ? " (core)" : "");
    else if (WIFSTOPPED(st))
        snprintf(buf, sizeof buf, "stopped by %s", sigabbrev_np(WSTOPSIG(st)));
    else
        snprintf(buf, sizeof buf, "status 0x%x", st);
    return buf;
}
