/* File locks across checkpoint/restart. Before the point the parent holds, on the file
 * `locks_data`, a POSIX read lock on bytes 0-99 and a POSIX write lock on 200-299 (fd A),
 * and through a second open of it (fd B) an OFD write lock on 400-499 and an OFD read
 * lock from byte 1000 to the end; an exclusive flock on `locks_flock` (fd C) and a shared
 * flock and a read lease on `locks_shared` (fd D). A child forked after that shares
 * C and D (so the flocks and the lease) and holds its own POSIX write lock on 600-699.
 * After the point a new process (the probe: fresh opens, its own lock owner) must find
 * each lock held with its type and range, by the right owner, and the gaps free; the
 * parent's own locks must not conflict with itself (owned by it, not by another
 * process) and F_GETLEASE must still say read. Then the child exits (its lock must be
 * gone), the parent unlocks its POSIX write lock and drops its flock (both must be
 * free). */
#include "kobj.h"

#include <sys/file.h>

static int A, B, C, D;

/* Who holds a conflict with a `type` lock on [start, start+len) for a POSIX (ofd 0) or
 * OFD probe through fd: "free", "read/write by parent", "read/write by another", "OFD ...". */
static const char *conflict(int fd, int ofd, short type, off_t start, off_t len, pid_t parent, char *buf, size_t cap) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, ofd ? F_OFD_GETLK : F_GETLK, &fl) != 0)
        return k_errname(errno);
    if (fl.l_type == F_UNLCK)
        return "free";
    const char *who = fl.l_pid == -1 ? "an open file (OFD)" : fl.l_pid == parent ? "the parent" : "another process";
    char end[32] = "EOF";
    if (fl.l_len)
        snprintf(end, sizeof end, "%lld", (long long)(fl.l_start + fl.l_len - 1));
    snprintf(buf, cap, "%s %lld-%s by %s", fl.l_type == F_WRLCK ? "write" : "read", (long long)fl.l_start, end, who);
    return buf;
}

static void expect_range(int fd, int ofd, short type, off_t start, off_t len, pid_t parent, const char *want) {
    char buf[128];
    const char *got = conflict(fd, ofd, type, start, len, parent, buf, sizeof buf);
    t_printf("  %s probe, %s lock %lld+%lld: %s", ofd ? "OFD" : "POSIX", type == F_WRLCK ? "write" : "read",
             (long long)start, (long long)len, got);
    K_EXPECT(strcmp(got, want) == 0);
}

static void expect_flock(const char *path, int op, const char *want) {
    int fd = open(path, O_RDONLY);
    t_assert(fd >= 0);
    int r = flock(fd, op | LOCK_NB);
    const char *got = r == 0 ? "taken" : k_errname(errno);
    t_printf("  flock(%s, %s): %s", path, op == LOCK_EX ? "LOCK_EX" : "LOCK_SH", got);
    K_EXPECT(strcmp(got, want) == 0);
    close(fd);
}

/* A new process (not sharing any lock owner with the job) looks at every lock. */
static void probe(const char *when, int child_alive, int parent_write, int parent_flock) {
    pid_t parent = getpid();
    t_printf("%s:", when);
    pid_t p = fork();
    t_assert(p >= 0);
    if (p == 0) {
        int fd = open("locks_data", O_RDWR);
        t_assert(fd >= 0);
        expect_range(fd, 0, F_WRLCK, 0, 100, parent, "read 0-99 by the parent");
        expect_range(fd, 0, F_RDLCK, 0, 100, parent, "free");
        expect_range(fd, 0, F_RDLCK, 100, 100, parent, "free");
        expect_range(fd, 0, F_RDLCK, 200, 100, parent, parent_write ? "write 200-299 by the parent" : "free");
        expect_range(fd, 1, F_RDLCK, 400, 100, parent, "write 400-499 by an open file (OFD)");
        expect_range(fd, 1, F_WRLCK, 5000, 10, parent, "read 1000-EOF by an open file (OFD)");
        expect_range(fd, 0, F_RDLCK, 600, 100, parent, child_alive ? "write 600-699 by another process" : "free");
        expect_flock("locks_flock", LOCK_SH, parent_flock ? k_errname(EWOULDBLOCK) : "taken");
        expect_flock("locks_shared", LOCK_SH, "taken");
        expect_flock("locks_shared", LOCK_EX, k_errname(EWOULDBLOCK));
        k_child_exit();
    }
    int st;
    t_assert(waitpid(p, &st, 0) == p);
    K_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void self_checks(const char *when) {
    /* The parent's own POSIX locks do not conflict with itself: they are its own. */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 300};
    t_assert(fcntl(A, F_GETLK, &fl) == 0);
    t_printf("%s: the parent's POSIX locks are its own: %s", when, k_yes(fl.l_type == F_UNLCK));
    int lease = fcntl(D, F_GETLEASE);
    t_printf("%s: lease on locks_shared: %s", when, lease == F_RDLCK ? "read" : lease == F_WRLCK ? "write" : lease == F_UNLCK ? "none" : k_errname(errno));
    K_EXPECT(lease == F_RDLCK);
}

static int make(const char *path, int flags) {
    int fd = open(path, flags | O_CREAT, 0644);
    t_assert(fd >= 0);
    t_assert(ftruncate(fd, 4096) == 0 || (flags & O_ACCMODE) == O_RDONLY);
    return fd;
}

int main(void) {
    A = make("locks_data", O_RDWR);
    B = open("locks_data", O_RDWR);
    t_assert(B >= 0);
    close(make("locks_flock", O_RDWR));
    close(make("locks_shared", O_RDWR));
    C = open("locks_flock", O_RDONLY);
    D = open("locks_shared", O_RDONLY);
    t_assert(C >= 0 && D >= 0);

    struct flock r = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
    struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 100};
    struct flock ow = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 400, .l_len = 100};
    struct flock orr = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 1000, .l_len = 0};
    t_assert(fcntl(A, F_SETLK, &r) == 0 && fcntl(A, F_SETLK, &w) == 0);
    t_assert(fcntl(B, F_OFD_SETLK, &ow) == 0 && fcntl(B, F_OFD_SETLK, &orr) == 0);
    t_assert(flock(C, LOCK_EX | LOCK_NB) == 0 && flock(D, LOCK_SH | LOCK_NB) == 0);
    t_assert(fcntl(D, F_SETLEASE, F_RDLCK) == 0);

    int go[2], ready[2];
    t_assert(pipe(go) == 0 && pipe(ready) == 0);
    pid_t child = fork();
    t_assert(child >= 0);
    if (child == 0) {
        close(go[1]);
        struct flock cw = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 600, .l_len = 100};
        t_assert(fcntl(A, F_SETLK, &cw) == 0);
        k_write_all(ready[1], "r", 1);
        char c;
        while (read(go[0], &c, 1) < 0 && errno == EINTR)  /* blocked across the point */
            ;
        _exit(0);
    }
    close(go[0]);
    char c;
    k_read_full(ready[0], &c, 1);

    self_checks("before");
    probe("before", 1, 1, 1);
    t_checkpoint_point(1);
    self_checks("after");
    probe("after", 1, 1, 1);

    /* Released when the restored child exits. */
    k_write_all(go[1], "g", 1);
    int st;
    t_assert(wait(&st) > 0);
    struct flock un = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 100};
    t_assert(fcntl(A, F_SETLK, &un) == 0);
    t_assert(flock(C, LOCK_UN) == 0);
    probe("child gone, parent unlocked", 0, 0, 0);
    k_finish();
}
