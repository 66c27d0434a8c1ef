/* Pseudo-terminal pairs with both ends in the job (fds/pty.cc). Three ptys:
 *  A: canonical, echo off, ^A as VINTR, 9600 baud, 33x101 window; a complete input line
 *     queued for the slave and a line of output queued for the master;
 *  B: raw, packet mode on the master, exclusive slave, locked; raw bytes queued both ways;
 *  C: master only (its slave written to, then closed): the output still readable, then EIO.
 * After the point every setting and queued byte must be the same, and the pairs still
 * carry data both ways. The slave's number is never printed (it may change). */
#include "kobj.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>

struct pty { int master, slave; };

static struct pty open_pty(void) {
    struct pty p;
    p.master = posix_openpt(O_RDWR | O_NOCTTY);
    t_assert(p.master >= 0 && grantpt(p.master) == 0 && unlockpt(p.master) == 0);
    p.slave = open(ptsname(p.master), O_RDWR | O_NOCTTY);
    t_assert(p.slave >= 0);
    return p;
}

/* Reads what fd holds within 2 s (stops after 200 ms of quiet). */
static size_t read_some(int fd, char *buf, size_t cap) {
    size_t got = 0;
    while (got < cap) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, got ? 200 : 2000) <= 0 || !(p.revents & POLLIN)) break;
        ssize_t n = read(fd, buf + got, cap - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    return got;
}

static void expect_read(const char *what, int fd, const char *want, size_t len) {
    char buf[256];
    size_t n = read_some(fd, buf, sizeof buf);
    t_printf("%s: %zu bytes, %s", what, n, k_ok(n == len && memcmp(buf, want, len) == 0));
    K_EXPECT(n == len && memcmp(buf, want, len) == 0);
}

static int get_int(int fd, unsigned long req) {
    int v = -1;
    t_assert(ioctl(fd, req, &v) == 0);
    return v;
}

static void show_settings(const char *when, const char *name, int master, int slave, const struct termios *want_t,
                          const struct winsize *want_w, int pkt, int lock, int excl) {
    struct termios t;
    struct winsize w;
    t_assert(tcgetattr(slave, &t) == 0 && ioctl(master, TIOCGWINSZ, &w) == 0);
    int same_t = t.c_iflag == want_t->c_iflag && t.c_oflag == want_t->c_oflag && t.c_cflag == want_t->c_cflag &&
                 t.c_lflag == want_t->c_lflag && memcmp(t.c_cc, want_t->c_cc, NCCS) == 0 &&
                 cfgetospeed(&t) == cfgetospeed(want_t);
    int same_w = w.ws_row == want_w->ws_row && w.ws_col == want_w->ws_col && w.ws_xpixel == want_w->ws_xpixel;
    t_printf("%s: %s termios %s, window %dx%d, packet %d, locked %d, slave exclusive %d", when, name, k_ok(same_t),
             w.ws_row, w.ws_col, get_int(master, TIOCGPKT), get_int(master, TIOCGPTLCK), get_int(slave, TIOCGEXCL));
    K_EXPECT(same_t && same_w);
    K_EXPECT(get_int(master, TIOCGPKT) == pkt && get_int(master, TIOCGPTLCK) == lock && get_int(slave, TIOCGEXCL) == excl);
}

int main(void) {
    struct pty a = open_pty(), b = open_pty(), c = open_pty();
    struct termios ta, tb;
    t_assert(tcgetattr(a.slave, &ta) == 0);
    ta.c_lflag &= ~(ECHO | ECHOE | ECHOK);
    ta.c_cc[VINTR] = 1;
    cfsetspeed(&ta, B9600);
    t_assert(tcsetattr(a.slave, TCSANOW, &ta) == 0 && tcgetattr(a.slave, &ta) == 0);
    struct winsize wa = {33, 101, 640, 480}, wb = {24, 80, 0, 0};
    t_assert(ioctl(a.master, TIOCSWINSZ, &wa) == 0 && ioctl(b.master, TIOCSWINSZ, &wb) == 0);
    t_assert(tcgetattr(b.slave, &tb) == 0);
    cfmakeraw(&tb);
    tb.c_cc[VMIN] = 1;
    tb.c_cc[VTIME] = 0;
    t_assert(tcsetattr(b.slave, TCSANOW, &tb) == 0 && tcgetattr(b.slave, &tb) == 0);
    int one = 1;
    t_assert(ioctl(b.master, TIOCPKT, &one) == 0 && ioctl(b.slave, TIOCEXCL) == 0 && ioctl(b.master, TIOCSPTLCK, &one) == 0);

    k_write_all(a.master, "hello line\n", 11);
    k_write_all(a.slave, "out A\n", 6);
    k_write_all(b.master, "raw\003bytes", 9);
    k_write_all(b.slave, "x\ny", 3);
    k_write_all(c.slave, "bye\n", 4);
    close(c.slave);
    k_sleep_ms(50);  /* the line disciplines take the bytes asynchronously */
    show_settings("before", "A", a.master, a.slave, &ta, &wa, 0, 0, 0);
    show_settings("before", "B", b.master, b.slave, &tb, &wb, 1, 1, 1);

    t_checkpoint_point(1);

    show_settings("after", "A", a.master, a.slave, &ta, &wa, 0, 0, 0);
    show_settings("after", "B", b.master, b.slave, &tb, &wb, 1, 1, 1);
    expect_read("A slave input", a.slave, "hello line\n", 11);
    expect_read("A master output", a.master, "out A\r\n", 7);
    expect_read("B slave input", b.slave, "raw\003bytes", 9);
    expect_read("B master output (packet)", b.master, "\0x\ny", 4);
    expect_read("C master output", c.master, "bye\r\n", 5);
    char buf[8];
    ssize_t n = read(c.master, buf, sizeof buf);
    t_printf("C master after its data: %s", n < 0 ? k_errname(errno) : "data");
    K_EXPECT(n < 0 && errno == EIO);
    /* Both ways still work, with A's settings (no echo) and B's (raw). */
    k_write_all(a.master, "again\n", 6);
    expect_read("A slave new input", a.slave, "again\n", 6);
    k_write_all(a.slave, "new\n", 4);
    expect_read("A master new output", a.master, "new\r\n", 5);
    k_write_all(b.slave, "\n", 1);
    expect_read("B master new output (packet)", b.master, "\0\n", 2);
    k_finish();
}
