/* A unix stream server listening on a path in its directory, with:
 *  - an already-accepted connection to child C1 (forked before the point),
 *    data queued both ways at the point (C1 is blocked reading a pipe);
 *  - child C2, forked before the point and blocked reading a pipe, that
 *    connects to the path only after the point;
 *  - child C3, forked after the point, that connects too;
 *  - an unconnected datagram socket bound to a second path, and an unbound
 *    one that sends to it with sendto() (nothing queued at the point);
 *  - a second listener bound with a relative path (rel.sock), which the
 *    process connects to itself after the point.
 * The children print nothing; they exit 0 when every reply was right. */
#include "kobj.h"

#include <limits.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

static struct sockaddr_un srv_addr, dg_addr;

static void make_addr(struct sockaddr_un *a, const char *name) {
    char cwd[PATH_MAX];
    t_assert(getcwd(cwd, sizeof cwd) != NULL);
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", cwd, name);
    t_assert(n > 0 && (size_t)n < sizeof a->sun_path);
}

static int inq(int fd) {
    int n = -1;
    t_assert(ioctl(fd, FIONREAD, &n) == 0);
    return n;
}

static int connect_srv(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    t_assert(fd >= 0);
    t_assert(connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr) == 0);
    return fd;
}

/* Reads exactly strlen(want) bytes and compares. */
static int expect(int fd, const char *want) {
    char buf[128];
    size_t len = strlen(want);
    k_read_full(fd, buf, len);
    return memcmp(buf, want, len) == 0;
}

static void wait_go(int fd) {
    char c;
    k_read_full(fd, &c, 1);
}

/* C1: connected before the point. */
static void child1(int go) {
    int fd = connect_srv();
    k_write_all(fd, "c1: hello", 9);
    wait_go(go);
    if (!expect(fd, "srv: welcome c1"))
        _exit(11);
    k_write_all(fd, "c1: got welcome", 15);
    if (!expect(fd, "srv: bye c1"))
        _exit(12);
    _exit(0);
}

/* C2 and C3: connect when told to (after the point). */
static void child_late(int go, const char *name) {
    if (go >= 0)
        wait_go(go);
    int fd = connect_srv();
    char msg[64], want[64];
    snprintf(msg, sizeof msg, "%s: hello", name);
    k_write_all(fd, msg, strlen(msg));
    snprintf(want, sizeof want, "srv: welcome %s", name);
    if (!expect(fd, want))
        _exit(21);
    char c;
    k_wait_in(fd);
    if (read(fd, &c, 1) != 0)   /* server closes: EOF */
        _exit(22);
    /* Datagram to the bound datagram socket, from a fresh unbound one. */
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    t_assert(dg >= 0);
    snprintf(msg, sizeof msg, "%s: datagram", name);
    if (sendto(dg, msg, strlen(msg), 0, (struct sockaddr *)&dg_addr, sizeof dg_addr) !=
        (ssize_t)strlen(msg))
        _exit(23);
    _exit(0);
}

static void serve_late(int lfd, const char *name) {
    k_wait_in(lfd);
    int fd = accept(lfd, NULL, NULL);
    t_assert(fd >= 0);
    char want[64], msg[64];
    snprintf(want, sizeof want, "%s: hello", name);
    t_printf("accepted %s, hello %s", name, k_ok(expect(fd, want)));
    snprintf(msg, sizeof msg, "srv: welcome %s", name);
    k_write_all(fd, msg, strlen(msg));
    t_assert(close(fd) == 0);
}

static void recv_dgram(int dg, const char *want, const char *what) {
    char buf[128];
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    k_wait_in(dg);
    ssize_t n = recvfrom(dg, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
    t_assert(n >= 0);
    buf[n] = '\0';
    t_printf("datagram socket got '%s' (%s)", buf, what);
    K_EXPECT(strcmp(buf, want) == 0);
}

int main(void) {
    make_addr(&srv_addr, "srv.sock");
    make_addr(&dg_addr, "dg.sock");
    unlink(srv_addr.sun_path);
    unlink(dg_addr.sun_path);

    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    t_assert(lfd >= 0);
    t_assert(bind(lfd, (struct sockaddr *)&srv_addr, sizeof srv_addr) == 0);
    t_assert(listen(lfd, 8) == 0);
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    t_assert(dg >= 0);
    t_assert(bind(dg, (struct sockaddr *)&dg_addr, sizeof dg_addr) == 0);
    int sender = socket(AF_UNIX, SOCK_DGRAM, 0);
    t_assert(sender >= 0);
    struct sockaddr_un rel = {.sun_family = AF_UNIX, .sun_path = "rel.sock"};
    unlink(rel.sun_path);
    int rfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    t_assert(rfd >= 0);
    t_assert(bind(rfd, (struct sockaddr *)&rel, sizeof rel) == 0);
    t_assert(listen(rfd, 2) == 0);

    int go1[2], go2[2];
    t_assert(pipe(go1) == 0 && pipe(go2) == 0);
    pid_t c1 = fork();
    t_assert(c1 >= 0);
    if (c1 == 0) {
        close(lfd);
        close(dg);
        close(sender);
        child1(go1[0]);
    }
    pid_t c2 = fork();
    t_assert(c2 >= 0);
    if (c2 == 0) {
        close(lfd);
        close(dg);
        close(sender);
        child_late(go2[0], "c2");
    }

    k_wait_in(lfd);
    int a1 = accept(lfd, NULL, NULL);
    t_assert(a1 >= 0);
    k_write_all(a1, "srv: welcome c1", 15);
    while (inq(a1) < 9)   /* "c1: hello" is queued at a1 */
        k_sleep_ms(2);
    /* One datagram through the unconnected sockets before the point (none is
     * left queued at the point: see sock_dgram_queued.c for that). */
    t_assert(sendto(sender, "before point", 12, 0, (struct sockaddr *)&dg_addr,
                    sizeof dg_addr) == 12);
    recv_dgram(dg, "before point", "before the point");
    t_printf("before: queued at accepted socket %d", inq(a1));
    K_EXPECT(inq(a1) == 9);

    t_checkpoint_point(1);

    struct sockaddr_un name;
    socklen_t nl = sizeof name;
    t_assert(getsockname(lfd, (struct sockaddr *)&name, &nl) == 0);
    int acc = 0;
    socklen_t al = sizeof acc;
    t_assert(getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0);
    t_printf("after: listener bound to the path %d, listening %d",
             strcmp(name.sun_path, srv_addr.sun_path) == 0, acc);
    K_EXPECT(strcmp(name.sun_path, srv_addr.sun_path) == 0 && acc == 1);
    t_printf("after: queued at accepted socket %d", inq(a1));
    K_EXPECT(inq(a1) == 9);

    /* The connection accepted before the point. */
    t_printf("c1 hello %s", k_ok(expect(a1, "c1: hello")));
    k_write_all(go1[1], "g", 1);
    t_printf("c1 reply %s", k_ok(expect(a1, "c1: got welcome")));
    k_write_all(a1, "srv: bye c1", 11);
    int st;
    t_assert(waitpid(c1, &st, 0) == c1);
    t_printf("c1 %s", k_status(st));
    K_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* C2 connects now. */
    k_write_all(go2[1], "g", 1);
    serve_late(lfd, "c2");
    recv_dgram(dg, "c2: datagram", "from c2");
    t_assert(waitpid(c2, &st, 0) == c2);
    t_printf("c2 %s", k_status(st));
    K_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* C3 is forked after the point. */
    pid_t c3 = fork();
    t_assert(c3 >= 0);
    if (c3 == 0)
        child_late(-1, "c3");
    serve_late(lfd, "c3");
    recv_dgram(dg, "c3: datagram", "from c3");
    t_assert(waitpid(c3, &st, 0) == c3);
    t_printf("c3 %s", k_status(st));
    K_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* The listener bound with a relative path. */
    int rc = socket(AF_UNIX, SOCK_STREAM, 0);
    t_assert(rc >= 0);
    int r = connect(rc, (struct sockaddr *)&rel, sizeof rel);
    int err = errno;
    t_printf("connect to rel.sock: %s", r == 0 ? "OK" : k_errname(err));
    K_EXPECT(r == 0);
    if (r == 0) {
        k_wait_in(rfd);
        int ra = accept(rfd, NULL, NULL);
        t_assert(ra >= 0);
        k_write_all(rc, "via relative path", 17);
        t_printf("rel.sock connection: %s", k_ok(expect(ra, "via relative path")));
        close(ra);
    }
    close(rc);

    /* The unbound sender still works after the point. */
    t_assert(sendto(sender, "after point", 11, 0, (struct sockaddr *)&dg_addr,
                    sizeof dg_addr) == 11);
    recv_dgram(dg, "after point", "from the unbound socket");

    t_assert(close(lfd) == 0);
    unlink(srv_addr.sun_path);
    unlink(dg_addr.sun_path);
    unlink(rel.sun_path);
    k_finish();
}
