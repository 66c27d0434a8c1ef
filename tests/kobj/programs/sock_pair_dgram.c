/* socketpair(AF_UNIX, SOCK_DGRAM) and socketpair(AF_UNIX, SOCK_SEQPACKET) with
 * several messages of different sizes queued in both directions at the
 * checkpoint point (a zero-length datagram among them): after restart every
 * message comes back whole, in order, with its own size and bytes; messages
 * sent after the restart queue behind them. */
#include "kobj.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

static char buf[1 << 17];

static int inq(int fd) {
    int n = -1;
    t_assert(ioctl(fd, FIONREAD, &n) == 0);
    return n;
}

static void send_msgs(int fd, const size_t *sizes, size_t count, unsigned seed0) {
    for (size_t i = 0; i < count; i++) {
        k_fill(buf, sizes[i], seed0 + (unsigned)i);
        ssize_t n = send(fd, buf, sizes[i], 0);
        t_assert(n == (ssize_t)sizes[i]);
    }
}

/* Receives up to max messages (non-blocking) and prints each one's size,
 * truncation flag and whether its bytes are those of message seed0+k. */
static int recv_msgs(const char *who, int fd, const size_t *sizes, unsigned seed0, int max) {
    int k = 0;
    for (; k < max; k++) {
        struct iovec iov = {buf, sizeof buf};
        struct msghdr mh = {0};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
        if (n < 0) {
            int err = errno;
            t_printf("%s: message %d: %s", who, k, k_errname(err));
            K_EXPECT(err == EAGAIN);
            return k;
        }
        t_printf("%s: message %d: %zd bytes, trunc %d, content %s", who, k, n,
                 (mh.msg_flags & MSG_TRUNC) != 0,
                 k_ok(k_check(buf, (size_t)n, seed0 + (unsigned)k) == (size_t)n));
        K_EXPECT(sizes != NULL && n == (ssize_t)sizes[k] && !(mh.msg_flags & MSG_TRUNC));
    }
    return k;
}

int main(void) {
    /* At most 10 datagrams may wait in a unix datagram queue by default. */
    static const size_t d_fwd[] = {1, 17, 0, 1000, 4096, 30000, 2};
    static const size_t d_back[] = {5, 200, 65000};
    static const size_t s_fwd[] = {3, 64, 1500, 20000, 9};
    static const size_t s_back[] = {11, 1};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

    int d[2], s[2];
    t_assert(socketpair(AF_UNIX, SOCK_DGRAM, 0, d) == 0);
    t_assert(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s) == 0);

    send_msgs(d[0], d_fwd, COUNT(d_fwd), 10);
    send_msgs(d[1], d_back, COUNT(d_back), 30);
    send_msgs(s[0], s_fwd, COUNT(s_fwd), 50);
    send_msgs(s[1], s_back, COUNT(s_back), 70);
    t_printf("before: first dgram at d1 %d, d0 %d; seqpacket bytes at s1 %d, s0 %d",
             inq(d[1]), inq(d[0]), inq(s[1]), inq(s[0]));

    t_checkpoint_point(1);

    t_printf("after: first dgram at d1 %d, d0 %d; seqpacket bytes at s1 %d, s0 %d",
             inq(d[1]), inq(d[0]), inq(s[1]), inq(s[0]));
    K_EXPECT(inq(d[1]) == 1 && inq(d[0]) == 5 && inq(s[1]) == 21576 && inq(s[0]) == 12);
    int type = 0;
    socklen_t tl = sizeof type;
    t_assert(getsockopt(d[0], SOL_SOCKET, SO_TYPE, &type, &tl) == 0);
    t_printf("after: d0 is SOCK_DGRAM %d", type == SOCK_DGRAM);
    K_EXPECT(type == SOCK_DGRAM);
    tl = sizeof type;
    t_assert(getsockopt(s[1], SOL_SOCKET, SO_TYPE, &type, &tl) == 0);
    t_printf("after: s1 is SOCK_SEQPACKET %d", type == SOCK_SEQPACKET);
    K_EXPECT(type == SOCK_SEQPACKET);

    /* Datagram: read three of the queued ones, send two more, read the rest. */
    int got = recv_msgs("d1", d[1], d_fwd, 10, 3);
    K_EXPECT(got == 3);
    static const size_t d_more[] = {333, 4};
    for (size_t i = 0; i < COUNT(d_more); i++) {
        k_fill(buf, d_more[i], 10 + (unsigned)(COUNT(d_fwd) + i));
        t_assert(send(d[0], buf, d_more[i], 0) == (ssize_t)d_more[i]);
    }
    /* The rest of d_fwd and then d_more continue the seed sequence. */
    const int total = (int)(COUNT(d_fwd) + COUNT(d_more));
    for (int k = 3; k < (int)(COUNT(d_fwd) + COUNT(d_more)) + 1; k++) {
        struct iovec iov = {buf, sizeof buf};
        struct msghdr mh = {0};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        ssize_t n = recvmsg(d[1], &mh, MSG_DONTWAIT);
        if (n < 0) {
            int err = errno;
            t_printf("d1: message %d: %s", k, k_errname(err));
            K_EXPECT(k == total && err == EAGAIN);
            break;
        }
        K_EXPECT(k < total);
        size_t want = k < (int)COUNT(d_fwd) ? d_fwd[k] : k < total ? d_more[k - COUNT(d_fwd)] : 0;
        t_printf("d1: message %d: %zd bytes, trunc %d, content %s", k, n,
                 (mh.msg_flags & MSG_TRUNC) != 0,
                 k_ok(n == (ssize_t)want && k_check(buf, (size_t)n, 10 + (unsigned)k) == (size_t)n));
    }
    K_EXPECT(recv_msgs("d0", d[0], d_back, 30, 10) == (int)COUNT(d_back));

    /* A short receive buffer truncates a datagram (boundaries are real). */
    k_fill(buf, 100, 90);
    t_assert(send(d[1], buf, 100, 0) == 100);
    char small[10];
    ssize_t n = recv(d[0], small, sizeof small, MSG_DONTWAIT | MSG_TRUNC);
    ssize_t next = recv(d[0], small, sizeof small, MSG_DONTWAIT);
    int err = next < 0 ? errno : 0;
    t_printf("d0: 100-byte datagram into 10 bytes: recv returns %zd, next %s", n,
             next < 0 ? k_errname(err) : "data");
    K_EXPECT(n == 100 && next < 0 && err == EAGAIN);

    K_EXPECT(recv_msgs("s1", s[1], s_fwd, 50, 10) == (int)COUNT(s_fwd));
    K_EXPECT(recv_msgs("s0", s[0], s_back, 70, 10) == (int)COUNT(s_back));
    send_msgs(s[1], s_fwd, 2, 80);
    K_EXPECT(recv_msgs("s0 new", s[0], s_fwd, 80, 3) == 2);

    /* Still connected to each other: closing one end ends the other. */
    t_assert(close(s[1]) == 0);
    n = recv(s[0], small, sizeof small, MSG_DONTWAIT);
    t_printf("s0 after close of s1: recv %zd", n);
    K_EXPECT(n == 0);
    k_finish();
}
