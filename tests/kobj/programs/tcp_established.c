/* An established TCP connection on 127.0.0.1 with both ends in the job, and data
 * queued both ways at the point: the parent holds the accepted end S (its
 * SO_RCVBUF small) and still its listener; a child forked before the point holds
 * the client end C. Before the point the child writes to C without blocking until
 * the connection is full (bytes in S's receive queue and in C's send queue, not
 * yet acknowledged by the window), and the parent writes 5000 bytes to S that C
 * does not read. After the point each end reads what was queued for it: every
 * byte exactly once, in order; then the child sends one more byte and closes, and
 * the parent sees that byte, then end of file. The listener still accepts. */
#include "kobj.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define TO_CHILD 5000

static int read_checked(int fd, size_t len, unsigned seed) {
    static unsigned char buf[1 << 16];
    size_t done = 0, bad = 0;
    while (done < len) {
        size_t want = len - done < sizeof buf ? len - done : sizeof buf;
        k_wait_in(fd);
        ssize_t n = read(fd, buf, want);
        if (n <= 0)
            return 0;
        for (ssize_t i = 0; i < n; i++)
            bad += buf[i] != k_byte(seed, done + i);
        done += n;
    }
    return bad == 0;
}

int main(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    t_assert(l >= 0);
    int small = 16384;
    t_assert(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    t_assert(bind(l, (struct sockaddr *)&a, sizeof a) == 0);
    t_assert(listen(l, 4) == 0);
    socklen_t al = sizeof a;
    t_assert(getsockname(l, (struct sockaddr *)&a, &al) == 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    t_assert(c >= 0);
    int snd = 32768;   /* a fixed send buffer: the child's writes stop once it is full */
    t_assert(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd) == 0);
    t_assert(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    int s = accept(l, NULL, NULL);
    t_assert(s >= 0);

    int counts[2], go[2];
    t_assert(pipe(counts) == 0 && pipe(go) == 0);
    pid_t child = fork();
    t_assert(child >= 0);
    if (child == 0) {
        close(s);
        close(l);
        close(counts[0]);
        close(go[1]);
        /* Fill the connection: S's receive queue, then C's send queue. */
        t_assert(fcntl(c, F_SETFL, O_NONBLOCK) == 0);
        static unsigned char buf[4096];
        size_t sent = 0;
        int idle = 0;
        while (idle < 20) {
            for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = k_byte(1, sent + i);
            ssize_t n = write(c, buf, sizeof buf);
            if (n > 0) {
                sent += n;
                idle = 0;
            } else {
                t_assert(errno == EAGAIN);
                idle++;
                k_sleep_ms(5);
            }
        }
        int fl = fcntl(c, F_GETFL);
        t_assert(fcntl(c, F_SETFL, fl & ~O_NONBLOCK) == 0);
        int unacked = 0;
        t_assert(ioctl(c, TIOCOUTQ, &unacked) == 0);
        k_write_all(counts[1], &sent, sizeof sent);
        k_write_all(counts[1], &unacked, sizeof unacked);
        char g;
        k_read_full(go[0], &g, 1);
        if (!read_checked(c, TO_CHILD, 2))
            _exit(11);
        if (write(c, "Y", 1) != 1)
            _exit(12);
        close(c);
        _exit(0);
    }
    close(c);
    close(counts[1]);
    close(go[0]);
    static unsigned char out[TO_CHILD];
    k_fill(out, sizeof out, 2);
    k_write_all(s, out, sizeof out);
    size_t from_child = 0;
    int unacked = 0;
    k_read_full(counts[0], &from_child, sizeof from_child);
    k_read_full(counts[0], &unacked, sizeof unacked);
    t_printf("before: child's bytes wait in its send queue too: %s", k_yes(unacked > 0));

    t_checkpoint_point(1);

    k_write_all(go[1], "g", 1);
    t_printf("bulk from child: complete, in order: %s", k_yes(read_checked(s, from_child, 1)));
    char y[2] = {0};
    k_wait_in(s);
    ssize_t n = read(s, y, 2);
    t_printf("then: '%s' (%zd byte)", y, n);
    K_EXPECT(n == 1 && y[0] == 'Y');
    k_wait_in(s);
    n = read(s, y, 1);
    t_printf("then end of file: %s", k_yes(n == 0));
    int st;
    t_assert(waitpid(child, &st, 0) == child);
    t_printf("child %s", k_status(st));
    K_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(s);

    /* The listener accepts a new connection on its port. */
    int c2 = socket(AF_INET, SOCK_STREAM, 0);
    t_assert(c2 >= 0);
    int r = connect(c2, (struct sockaddr *)&a, sizeof a);
    t_printf("new connection to the listener: %s", r == 0 ? "OK" : k_errname(errno));
    K_EXPECT(r == 0);
    k_finish();
}
