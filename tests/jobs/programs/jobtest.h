/* Helpers for crest job tests (tests/jobs), on top of ../e2e/lib/crtest.h.
 *
 * A job reaches a checkpoint point with j_point(): it appends
 *     JOB <pid> <spec>...
 *     CKPT <n>
 * to $CRTEST_CONTROL (the second line by t_checkpoint_point(), which then waits
 * for SIGUSR2 in rt_sigsuspend). <pid> is the waiting process; each <spec>
 * tells run_jobs.py what else must hold before it checkpoints (and again after
 * the restart, before it sends SIGUSR2):
 *     PID:S     PID sleeps in some syscall        PID:S<nr>  ... in syscall nr
 *     PID:T     PID is stopped (SIGSTOP)          PID:Z      PID is a zombie
 *     quiet     no process of the job does I/O any more (/proc/PID/io stable)
 * j_bystander() appends "BYSTANDER <pid>": a process of the job that is outside
 * the checkpoint's scope and must survive cr_checkpoint --kill. */
#ifndef CREST_JOBS_JOBTEST_H
#define CREST_JOBS_JOBTEST_H

#include <stddef.h>
#include <sys/types.h>

#include "crtest.h"

#define NR_READ 0
#define NR_WRITE 1

/* specs: printf-style, space-separated specs (may be ""). */
void j_point(int n, const char *specs_fmt, ...) __attribute__((format(printf, 2, 3)));
void j_bystander(pid_t pid);
/* Forks a bystander (it closes every fd but 2 and pauses until killed),
 * names it with j_bystander() and returns its pid. */
pid_t j_start_bystander(void);

/* read/write exactly len bytes (EINTR retried); read_full returns bytes read
 * (< len only at EOF). */
size_t j_read_full(int fd, void *buf, size_t len);
void j_write_full(int fd, const void *buf, size_t len);

/* Bytes buffered in a pipe (FIONREAD, either end). */
int j_pipe_bytes(int fd);
/* State letter of PID from /proc/PID/stat ('?' if gone). */
char j_proc_state(pid_t pid);
/* Sleeps ms milliseconds (nanosleep, restarted on EINTR). */
void j_msleep(int ms);
/* Polls cond every millisecond until it holds; fails the test after 10 s. */
#define j_wait_until(cond)                                     \
    do {                                                       \
        for (int j_ms_ = 0; !(cond); j_ms_++) {                \
            if (j_ms_ >= 10000)                                \
                t_assert_fail("timeout waiting for " #cond,    \
                              __FILE__, __LINE__);             \
            j_msleep(1);                                       \
        }                                                      \
    } while (0)
/* "exit N" / "killed by SIGNAME" / "stopped by ..." for a wait status. */
const char *j_status(int st);

#endif
