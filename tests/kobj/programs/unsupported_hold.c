/* Holds one kind of state crest does not restore yet, then waits to be checkpointed
 * (check_unsupported_refused.py): prints "READY" once it holds it, then pause()s.
 * Usage: unsupported_hold CASE DIR   (DIR: a scratch directory for the lock file)
 * Cases: timer (on a CPU-time clock of a pid), lease_breaking (a write lease on fd 7 that an open
 * for reading is breaking: it stays so for the lease break time, 45 s by default), seccomp, aio,
 * timens,
 * scm_rights (a unix socket at fd 7 with a pipe's fd and itself queued in SCM_RIGHTS messages),
 * pending_outside (a unix listener at fd 7 with a connection not yet accepted from a process
 * outside the tree: a grandchild left to the caller, which exits once this program is gone),
 * netlink_queued (a NETLINK_ROUTE socket at fd 7 holding the unread answer to a request),
 * packet_ring (root: a packet socket at fd 7 with a PACKET_RX_RING),
 * memfd_sealed_mapped (a memfd at fd 7 with F_SEAL_WRITE, mapped shared read-only),
 * memfd_hugetlb (a memfd made with MFD_HUGETLB at fd 7),
 * pidfd_outside (a pidfd of process 1 at fd 7), pidfd_dead (a pidfd of a child reaped since at fd 7),
 * guard (a guard page, MADV_GUARD_INSTALL, in the middle of a three-page area).
 * The lease is held through fd 7. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/mman.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "unsupported_hold: %s failed: %s\n", #cond, strerror(errno)); \
            exit(2);                                                          \
        }                                                                     \
    } while (0)

static int lock_file(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/locked", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0);
    CHECK(dup2(fd, 7) == 7);
    close(fd);
    return 7;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: unsupported_hold CASE DIR\n");
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "timer")) {
        /* on a CPU-time clock of a given pid (restored timers are on the other clocks) */
        struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
        timer_t t;
        clockid_t clock;
        CHECK(clock_getcpuclockid(getpid(), &clock) == 0);
        CHECK(timer_create(clock, &ev, &t) == 0);
        struct itimerspec its = {{0, 0}, {600, 0}};
        CHECK(timer_settime(t, 0, &its, NULL) == 0);
    } else if (!strcmp(c, "lease_breaking")) {
        int fd = lock_file(argv[2]);
        CHECK(signal(SIGIO, SIG_IGN) != SIG_ERR);  /* the break notice */
        CHECK(fcntl(fd, F_SETLEASE, F_WRLCK) == 0);
        char path[4096];
        snprintf(path, sizeof path, "%s/locked", argv[2]);
        CHECK(open(path, O_RDONLY | O_NONBLOCK) < 0 && errno == EWOULDBLOCK);
    } else if (!strcmp(c, "seccomp")) {
        struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog prog = {1, allow};
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
        CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0);
    } else if (!strcmp(c, "aio")) {
        aio_context_t ctx = 0;
        CHECK(syscall(SYS_io_setup, 8, &ctx) == 0);
    } else if (!strcmp(c, "scm_rights")) {
        int s[2], p[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
        CHECK(pipe(p) == 0);
        CHECK(dup2(s[1], 7) == 7);
        close(s[1]);
        int carried[2] = {p[0], 7}; /* a pipe's read end, and the receiving socket itself */
        for (int i = 0; i < 2; i++) {
            char data = 'x', control[CMSG_SPACE(sizeof(int))] = {0};
            struct iovec iov = {&data, 1};
            struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                                .msg_controllen = sizeof control};
            struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(cm), &carried[i], sizeof(int));
            CHECK(sendmsg(s[0], &mh, 0) == 1);
        }
    } else if (!strcmp(c, "pending_outside")) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "%s/l.sock", argv[2]);
        int l = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(l >= 0 && dup2(l, 7) == 7);
        close(l);
        CHECK(bind(7, (struct sockaddr *)&a, sizeof a) == 0 && listen(7, 4) == 0);
        int alive[2], ready[2];
        CHECK(pipe(alive) == 0 && pipe(ready) == 0);
        pid_t mid = fork();
        CHECK(mid >= 0);
        if (mid == 0) {
            if (fork() != 0)
                _exit(0);
            close(alive[1]);
            close(7);
            int s = socket(AF_UNIX, SOCK_STREAM, 0);
            if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0)
                _exit(2);
            char x;
            if (write(ready[1], "r", 1) != 1 || read(alive[0], &x, 1) < 0)
                _exit(2);
            _exit(0); /* EOF: the program is gone */
        }
        CHECK(waitpid(mid, NULL, 0) == mid);
        close(alive[0]);
        close(ready[1]);
        char x;
        CHECK(read(ready[0], &x, 1) == 1);
        close(ready[0]);
    } else if (!strcmp(c, "netlink_queued")) {
        int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
        CHECK(s >= 0 && dup2(s, 7) == 7);
        close(s);
        struct {
            struct nlmsghdr h;
            struct ifaddrmsg a;
        } req = {{NLMSG_LENGTH(sizeof(struct ifaddrmsg)), RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, 0}, {0}};
        CHECK(send(7, &req, req.h.nlmsg_len, 0) == (ssize_t)req.h.nlmsg_len);
        struct pollfd pf = {7, POLLIN, 0};
        CHECK(poll(&pf, 1, 5000) == 1);
    } else if (!strcmp(c, "packet_ring")) {
        int s = socket(AF_PACKET, SOCK_RAW, 0);
        CHECK(s >= 0 && dup2(s, 7) == 7);
        close(s);
        struct tpacket_req req = {.tp_block_size = 4096, .tp_block_nr = 1, .tp_frame_size = 2048, .tp_frame_nr = 2};
        CHECK(setsockopt(7, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) == 0);
    } else if (!strcmp(c, "memfd_sealed_mapped")) {
        int m = memfd_create("crest-sealed-mapped", MFD_ALLOW_SEALING);
        CHECK(m >= 0 && dup2(m, 7) == 7);
        close(m);
        CHECK(ftruncate(7, 4096) == 0);
        CHECK(fcntl(7, F_ADD_SEALS, F_SEAL_WRITE) == 0);
        CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, 7, 0) != MAP_FAILED);
    } else if (!strcmp(c, "memfd_hugetlb")) {
        int m = memfd_create("crest-huge", MFD_HUGETLB);
        CHECK(m >= 0 && dup2(m, 7) == 7);
        close(m);
    } else if (!strcmp(c, "pidfd_outside")) {
        int p = (int)syscall(SYS_pidfd_open, 1, 0);
        CHECK(p >= 0 && dup2(p, 7) == 7);
        close(p);
    } else if (!strcmp(c, "pidfd_dead")) {
        pid_t child = fork();
        CHECK(child >= 0);
        if (child == 0)
            _exit(0);
        int p = (int)syscall(SYS_pidfd_open, child, 0);
        CHECK(p >= 0 && dup2(p, 7) == 7);
        close(p);
        CHECK(waitpid(child, NULL, 0) == child);
    } else if (!strcmp(c, "guard")) {
        long page = sysconf(_SC_PAGESIZE);
        char *a = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(a != MAP_FAILED);
        memset(a, 1, 3 * page);
        CHECK(madvise(a + page, page, 102 /* MADV_GUARD_INSTALL */) == 0);
    } else if (!strcmp(c, "timens")) {
        CHECK(unshare(CLONE_NEWTIME) == 0);
    } else {
        fprintf(stderr, "unsupported_hold: unknown case %s\n", c);
        return 2;
    }
    printf("READY\n");
    fflush(stdout);
    for (;;)
        pause();
}
