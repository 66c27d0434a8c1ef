/* socketpair(AF_UNIX, SOCK_STREAM) with bytes queued in both directions at the
 * checkpoint point: after restart each side reads exactly what was queued
 * (no more, no less, same bytes), then the two sides exchange more, and a
 * shutdown on one side is seen as EOF on the other (they are still each
 * other's peer). A second pair connects the process with a child forked
 * before the point; the child's greeting is queued at the point and the child
 * is blocked in read on its end. */
#include "kobj.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

static const size_t a_to_b[] = {10, 1000, 50000, 3};   /* written by A, queued at B */
static const size_t b_to_a[] = {7, 3000};              /* written by B, queued at A */
#define NA (sizeof a_to_b / sizeof a_to_b[0])
#define NB (sizeof b_to_a / sizeof b_to_a[0])

static char big[1 << 17];

static int inq(int fd) {
    int n = -1;
    t_assert(ioctl(fd, FIONREAD, &n) == 0);
    return n;
}

/* Reads everything queued at fd (non-blocking) and checks it is the
 * concatenation of messages seed0.. with the given sizes. */
static void drain_and_check(const char *who, int fd, const size_t *sizes, size_t count,
                            unsigned seed0) {
    size_t want = 0;
    for (size_t i = 0; i < count; i++)
        want += sizes[i];
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, big + got, sizeof big - got, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            K_EXPECT(err == EAGAIN);
            t_printf("%s: drained %zu bytes, then %s", who, got, k_errname(err));
            break;
        }
        if (n == 0) {
            K_EXPECT(!"EOF while draining");
            t_printf("%s: drained %zu bytes, then EOF", who, got);
            break;
        }
        got += (size_t)n;
    }
    size_t off = 0;
    int ok = got == want;
    for (size_t i = 0; ok && i < count; i++) {
        if (k_check(big + off, sizes[i], seed0 + (unsigned)i) != sizes[i])
            ok = 0;
        off += sizes[i];
    }
    t_printf("%s: expected %zu bytes, content %s", who, want, k_ok(ok));
}

static void child(int fd) {
    const char *hello = "child: hello, parent\n";
    k_write_all(fd, hello, strlen(hello));
    char buf[64];
    for (;;) {
        k_wait_in(fd);
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n < 0 && errno == EINTR)
            continue;
        t_assert(n > 0);
        buf[n] = '\0';
        if (strcmp(buf, "quit") == 0)
            k_child_exit();
        char reply[80];
        int len = snprintf(reply, sizeof reply, "re:%s", buf);
        k_write_all(fd, reply, (size_t)len);
    }
}

int main(void) {
    int sv[2];
    t_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int A = sv[0], B = sv[1];
    t_assert(fcntl(B, F_SETFL, O_NONBLOCK) == 0);

    int cv[2];
    t_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv) == 0);
    pid_t pid = fork();
    t_assert(pid >= 0);
    if (pid == 0) {
        close(cv[0]);
        close(A);
        close(B);
        child(cv[1]);
    }
    close(cv[1]);

    for (size_t i = 0; i < NA; i++) {
        k_fill(big, a_to_b[i], 100 + (unsigned)i);
        k_write_all(A, big, a_to_b[i]);
    }
    for (size_t i = 0; i < NB; i++) {
        k_fill(big, b_to_a[i], 200 + (unsigned)i);
        k_write_all(B, big, b_to_a[i]);
    }
    /* Wait until the child's greeting is queued. */
    const int hello_len = (int)strlen("child: hello, parent\n");
    while (inq(cv[0]) < hello_len)
        k_sleep_ms(2);
    t_printf("before: queued at A %d, at B %d, from child %d", inq(A), inq(B), inq(cv[0]));

    t_checkpoint_point(1);

    t_printf("after: queued at A %d, at B %d, from child %d", inq(A), inq(B), inq(cv[0]));
    K_EXPECT(inq(A) == 3007 && inq(B) == 51013 && inq(cv[0]) == hello_len);
    int type = 0;
    socklen_t tl = sizeof type;
    t_assert(getsockopt(A, SOL_SOCKET, SO_TYPE, &type, &tl) == 0);
    t_printf("after: A type stream %d, A nonblock %d, B nonblock %d, child fd cloexec %d",
             type == SOCK_STREAM, k_nonblock(A), k_nonblock(B), k_cloexec(cv[0]));
    K_EXPECT(type == SOCK_STREAM && !k_nonblock(A) && k_nonblock(B) && k_cloexec(cv[0]));

    /* B reads what A queued before the point; A what B queued. */
    drain_and_check("B", B, a_to_b, NA, 100);
    t_assert(fcntl(A, F_SETFL, O_NONBLOCK) == 0);
    drain_and_check("A", A, b_to_a, NB, 200);
    t_assert(fcntl(A, F_SETFL, 0) == 0);

    /* Exchange more, both directions. */
    for (int round = 0; round < 3; round++) {
        char msg[64], buf[64];
        int len = snprintf(msg, sizeof msg, "A->B round %d", round);
        k_write_all(A, msg, (size_t)len);
        k_wait_in(B);
        ssize_t n = recv(B, buf, sizeof buf - 1, 0);
        t_assert(n > 0);
        buf[n] = '\0';
        t_printf("B got '%s'", buf);
        K_EXPECT(strcmp(buf, msg) == 0);
        len = snprintf(msg, sizeof msg, "B->A round %d", round);
        k_write_all(B, msg, (size_t)len);
        k_wait_in(A);
        n = recv(A, buf, sizeof buf - 1, 0);
        t_assert(n > 0);
        buf[n] = '\0';
        t_printf("A got '%s'", buf);
        K_EXPECT(strcmp(buf, msg) == 0);
    }
    k_fill(big, 100000, 77);
    k_write_all(A, big, 60000);
    size_t got = 0;
    while (got < 60000) {
        k_wait_in(B);
        ssize_t n = recv(B, big + 70000, 60000 - got, 0);
        t_assert(n > 0);
        K_EXPECT(memcmp(big + 70000, big + got, (size_t)n) == 0);
        got += (size_t)n;
    }
    t_printf("B got 60000 more bytes, content ok");

    /* Still each other's peer: shutdown(A, SHUT_WR) is EOF at B. */
    t_assert(shutdown(A, SHUT_WR) == 0);
    char c;
    k_wait_in(B);
    ssize_t n = recv(B, &c, 1, 0);
    t_printf("B after shutdown of A: recv %zd", n);
    K_EXPECT(n == 0);

    /* The child: its greeting, then a few round trips. */
    char buf[128];
    int want = hello_len;
    k_read_full(cv[0], buf, (size_t)want);
    buf[want] = '\0';
    K_EXPECT(strcmp(buf, "child: hello, parent\n") == 0);
    t_printf("from child: %s", strtok(buf, "\n"));
    for (int round = 0; round < 3; round++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "ping %d", round);
        k_write_all(cv[0], msg, (size_t)len);
        k_read_full(cv[0], buf, (size_t)len + 3);
        buf[len + 3] = '\0';
        t_printf("child replied '%s'", buf);
        K_EXPECT(strncmp(buf, "re:", 3) == 0 && strcmp(buf + 3, msg) == 0);
    }
    k_write_all(cv[0], "quit", 4);
    int st;
    t_assert(waitpid(pid, &st, 0) == pid);
    t_printf("child %s", k_status(st));
    K_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    k_finish();
}
