/* Unix socket state beyond queued bytes, at the checkpoint point:
 *  - a stream pair whose sender raised SO_SNDBUF and queued 3 MiB, then shut down
 *    its send side (SHUT_WR);
 *  - a seqpacket pair with messages of 2 MiB, 1 byte and 300000 bytes queued (larger
 *    than a default socket buffer holds), whose receiver then shut down its receive
 *    side (SHUT_RD).
 * Generic options: a[0]'s raised SO_SNDBUF, SO_PASSCRED on b[1], SO_RCVLOWAT 3 on a[1].
 * After: every byte and message whole and in order, then end of stream (read 0); a send
 * from a shut side fails with EPIPE; the open direction still carries data; the options
 * as set. */
#include "kobj.h"

#include <sys/socket.h>

#define STREAM_BYTES (3u << 20)
static uint8_t buf[3u << 20];

static void raise_sndbuf(int fd) {
    int big = 4 << 20;
    t_assert(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big) == 0);
}

static int intopt(int fd, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    t_assert(getsockopt(fd, SOL_SOCKET, name, &v, &len) == 0);
    return v;
}

static const char *send_result(int fd) {
    ssize_t n = send(fd, "z", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    return n == 1 ? "sent" : k_errname(errno);
}

int main(void) {
    static const size_t seq[] = {2u << 20, 1, 300000};
    int a[2], b[2];
    t_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
    t_assert(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, b) == 0);
    raise_sndbuf(a[0]);
    raise_sndbuf(b[0]);

    k_fill(buf, STREAM_BYTES, 1);
    size_t at = 0;
    while (at < STREAM_BYTES) {
        ssize_t n = send(a[0], buf + at, STREAM_BYTES - at, MSG_DONTWAIT);
        t_assert(n > 0);
        at += (size_t)n;
    }
    t_assert(shutdown(a[0], SHUT_WR) == 0);
    for (int i = 0; i < 3; i++) {
        k_fill(buf, seq[i], 10 + (unsigned)i);
        t_assert(send(b[0], buf, seq[i], MSG_DONTWAIT) == (ssize_t)seq[i]);
    }
    t_assert(shutdown(b[1], SHUT_RD) == 0);
    int one = 1, three = 3;
    t_assert(setsockopt(b[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0);
    t_assert(setsockopt(a[1], SOL_SOCKET, SO_RCVLOWAT, &three, sizeof three) == 0);
    int sndbuf = intopt(a[0], SO_SNDBUF);

    t_checkpoint_point(1);

    t_printf("options: a0 SO_SNDBUF as raised %s, b1 SO_PASSCRED %d, a1 SO_RCVLOWAT %d",
             k_yes(intopt(a[0], SO_SNDBUF) == sndbuf), intopt(b[1], SO_PASSCRED), intopt(a[1], SO_RCVLOWAT));
    K_EXPECT(intopt(b[1], SO_PASSCRED) == 1 && intopt(a[1], SO_RCVLOWAT) == 3);

    /* Stream: the 3 MiB, then the end of the stream. */
    at = 0;
    while (at < STREAM_BYTES) {
        k_wait_in(a[1]);
        ssize_t n = read(a[1], buf + at, STREAM_BYTES - at);
        t_assert(n >= 0);
        if (n == 0)
            break;
        at += (size_t)n;
    }
    t_printf("stream: %zu bytes, content %s", at, k_ok(at == STREAM_BYTES && k_check(buf, at, 1) == at));
    ssize_t n = read(a[1], buf, 1);
    t_printf("stream: then read returns %zd (end of stream)", n);
    K_EXPECT(n == 0);
    const char *r = send_result(a[0]);
    t_printf("stream: send on the shut side: %s", r);
    K_EXPECT(strcmp(r, "EPIPE") == 0);
    r = send_result(a[1]);
    t_printf("stream: send the other way: %s", r);
    K_EXPECT(strcmp(r, "sent") == 0);
    char c = 0;
    k_wait_in(a[0]);
    t_printf("stream: received the other way: %s", k_ok(read(a[0], &c, 1) == 1 && c == 'z'));

    /* Seqpacket: the three messages whole, then end (receive side shut). */
    for (int i = 0; i < 3; i++) {
        struct iovec iov = {buf, sizeof buf};
        struct msghdr mh = {0};
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        n = recvmsg(b[1], &mh, MSG_DONTWAIT);
        t_printf("seqpacket: message %d: %zd bytes, trunc %d, content %s", i, n, (mh.msg_flags & MSG_TRUNC) != 0,
                 k_ok(n == (ssize_t)seq[i] && k_check(buf, (size_t)n, 10 + (unsigned)i) == (size_t)n));
    }
    n = recv(b[1], buf, 16, MSG_DONTWAIT);
    t_printf("seqpacket: then recv returns %zd (receive side shut)", n);
    K_EXPECT(n == 0);
    r = send_result(b[0]);
    t_printf("seqpacket: send to the shut receiver: %s", r);
    K_EXPECT(strcmp(r, "EPIPE") == 0);
    r = send_result(b[1]);
    t_printf("seqpacket: send from the shut receiver: %s", r);
    K_EXPECT(strcmp(r, "sent") == 0);
    k_finish();
}
