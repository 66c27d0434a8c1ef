/* pidfds across checkpoint/restart: one of a child (PIDFD_NONBLOCK), one of the
 * process itself, and a dup of the child's. After the restart: each still reads
 * "anon_inode:[pidfd]" and names its process (fdinfo Pid: the child's and our own pid),
 * the flags are kept, the child is alive (poll: not readable), a signal sent through
 * the pidfd (pidfd_send_signal) reaches it, poll then reports its exit and waitid
 * through the pidfd returns its status. */
#include "kobj.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static void on_usr1(int sig) {
    (void)sig;
    _exit(7);
}

static long fdinfo_pid(int fd) {
    char v[32] = "";
    if (k_fdinfo(fd, "Pid", v, sizeof v) != 0)
        return -100;
    return strtol(v, NULL, 10);
}

static void check_link(const char *what, int fd) {
    char link[64], got[128] = "";
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, got, sizeof got - 1);
    if (n > 0)
        got[n] = '\0';
    t_printf("%s: fd %d is %s: %s", what, fd, got, k_ok(strcmp(got, "anon_inode:[pidfd]") == 0));
}

int main(void) {
    int ready[2];
    t_assert(pipe(ready) == 0);
    pid_t child = fork();
    t_assert(child >= 0);
    if (child == 0) {
        signal(SIGUSR1, on_usr1);
        close(ready[0]);
        t_assert(write(ready[1], "r", 1) == 1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char c;
    t_assert(read(ready[0], &c, 1) == 1);
    close(ready[0]);
    int of_child = (int)syscall(SYS_pidfd_open, child, PIDFD_NONBLOCK);
    int of_self = (int)syscall(SYS_pidfd_open, getpid(), 0);
    t_assert(of_child >= 0 && of_self >= 0);
    int dup_of_child = fcntl(of_child, F_DUPFD, 10);
    t_assert(dup_of_child >= 0);
    t_assert(fcntl(of_self, F_SETFD, 0) == 0);  /* pidfd_open's are close-on-exec */

    t_checkpoint_point(1);

    /* The pids may have changed (restart with --no-restore-pid): ours is getpid(), the
     * child's is the one fdinfo names, which must be a child of ours. */
    check_link("child", of_child);
    check_link("self", of_self);
    check_link("dup of child", dup_of_child);
    long pid_child = fdinfo_pid(of_child), pid_self = fdinfo_pid(of_self);
    t_printf("self: names our pid: %s", k_ok(pid_self == getpid()));
    t_printf("child: names a child of ours: %s", k_ok(pid_child > 0 && waitpid((pid_t)pid_child, NULL, WNOHANG) == 0));
    t_printf("dup of child: names the same process: %s", k_ok(fdinfo_pid(dup_of_child) == pid_child));
    t_printf("flags: child nonblock %d cloexec %d, self nonblock %d cloexec %d, dup nonblock %d cloexec %d: %s", k_nonblock(of_child),
             k_cloexec(of_child), k_nonblock(of_self), k_cloexec(of_self), k_nonblock(dup_of_child), k_cloexec(dup_of_child),
             k_ok(k_nonblock(of_child) && k_cloexec(of_child) && !k_nonblock(of_self) && !k_cloexec(of_self) &&
                  k_nonblock(dup_of_child) && !k_cloexec(dup_of_child)));

    struct pollfd pf = {of_child, POLLIN, 0};
    t_printf("child: alive (pidfd not readable): %s", k_ok(poll(&pf, 1, 0) == 0));
    t_printf("child: pidfd_send_signal SIGUSR1: %s", k_ok(syscall(SYS_pidfd_send_signal, of_child, SIGUSR1, NULL, 0) == 0));
    pf.revents = 0;
    int r = poll(&pf, 1, 10000);
    t_printf("child: poll reports its exit: %s", k_ok(r == 1 && (pf.revents & POLLIN)));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    r = waitid(P_PIDFD, (id_t)of_child, &si, WEXITED);
    t_printf("child: waitid through the pidfd: exit code %d: %s", si.si_status, k_ok(r == 0 && si.si_code == CLD_EXITED && si.si_status == 7));
    k_finish();
}
