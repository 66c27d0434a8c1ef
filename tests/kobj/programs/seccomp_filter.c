/* seccomp across checkpoint/restart (root: an ordinary user's checkpoint refuses a filter
 * by name, kobj/unsupported_refused/seccomp/nobody). Before the point: a thread T is
 * started, then filter A (getppid -> EPERM) is installed with SECCOMP_FILTER_FLAG_TSYNC
 * (main and T share it), then filter B (getsid -> EACCES) in the main thread only. A
 * child C is in strict mode, blocked in read(). After the point: in the main thread
 * getppid fails with EPERM and getsid with EACCES, getpid and a write work, and its status
 * counts 2 filters; in T getppid fails with EPERM, getsid works, 1 filter; C, woken,
 * writes its answer (allowed in strict mode) and is then killed by SIGKILL when it calls
 * getpid (not allowed). */
#include "kobj.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static void install(int nr, int err, unsigned flags) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    t_assert(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog) == 0);
}

static const char *result(long r) { return r >= 0 ? "works" : k_errname(errno); }

static int filters_of_self(void) {  /* "Seccomp_filters:" of this thread's status */
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/self/task/%ld/status", (long)syscall(SYS_gettid));
    int fd = open(path, O_RDONLY);
    t_assert(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    t_assert(n > 0);
    buf[n] = 0;
    char *at = strstr(buf, "Seccomp_filters:");
    return at ? atoi(at + 16) : -1;
}

static void checks(const char *who, int filters, const char *sid_want) {
    long ppid = syscall(SYS_getppid);
    const char *p = result(ppid);
    long sid = syscall(SYS_getsid, 0);
    const char *s = result(sid);
    int n = filters_of_self();
    t_printf("%s: getppid %s, getsid %s, getpid %s, filters %d", who, p, s, result(syscall(SYS_getpid)), n);
    K_EXPECT(strcmp(p, "EPERM") == 0);
    K_EXPECT(strcmp(s, sid_want) == 0);
    K_EXPECT(n == filters);
}

static int t_go[2], t_done[2];

static void *thread_main(void *arg) {
    (void)arg;
    char c;
    for (int round = 0; round < 2; round++) {
        while (read(t_go[0], &c, 1) < 0 && errno == EINTR)
            ;
        checks(round ? "thread after" : "thread before", 1, "works");
        k_write_all(t_done[1], "d", 1);
    }
    return NULL;
}

int main(void) {
    t_assert(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    int c_go[2], c_out[2];
    t_assert(pipe(c_go) == 0 && pipe(c_out) == 0 && pipe(t_go) == 0 && pipe(t_done) == 0);
    pid_t child = fork();
    t_assert(child >= 0);
    if (child == 0) {
        t_assert(prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) == 0);
        char c;
        while (syscall(SYS_read, c_go[0], &c, 1) != 1)  /* across the point */
            ;
        syscall(SYS_write, c_out[1], "s", 1);
        syscall(SYS_getpid);   /* not allowed in strict mode: SIGKILL */
        syscall(SYS_exit, 3);  /* (exit, not exit_group: allowed) */
    }
    pthread_t t;
    t_assert(pthread_create(&t, NULL, thread_main, NULL) == 0);
    install(SYS_getppid, EPERM, SECCOMP_FILTER_FLAG_TSYNC);
    install(SYS_getsid, EACCES, 0);

    char c;
    checks("main before", 2, "EACCES");
    k_write_all(t_go[1], "g", 1);
    k_read_full(t_done[0], &c, 1);
    t_checkpoint_point(1);
    checks("main after", 2, "EACCES");
    k_write_all(t_go[1], "g", 1);
    k_read_full(t_done[0], &c, 1);
    t_assert(pthread_join(t, NULL) == 0);

    k_write_all(c_go[1], "g", 1);
    k_read_full(c_out[0], &c, 1);
    int st;
    t_assert(waitpid(-1, &st, 0) > 0);
    t_printf("strict child: wrote '%c', then %s", c, k_status(st));
    K_EXPECT(c == 's' && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    k_finish();
}
