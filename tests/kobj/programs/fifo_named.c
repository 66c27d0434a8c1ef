/* Named FIFOs across checkpoint/restart. A child writes two messages into the
 * mkfifo'd path "chan.fifo" (opened by name at both ends) that the parent has not
 * read at the point, and waits. A second FIFO "gone.fifo" is opened O_RDWR by the
 * parent, filled, and unlinked. After the point (after restart, in restart mode):
 * the bytes in flight are there once; the parent's end is still the FIFO at the
 * path (same inode); a third process started only now opens "chan.fifo" by name
 * (O_WRONLY | O_NONBLOCK, which fails with ENXIO unless the FIFO at that path has a
 * reader) and its message reaches the parent; the child's last message follows,
 * then end of file; the unlinked FIFO gives back its bytes and is still unlinked. */
#include "kobj.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char M1[] = "msg1 from the child\n";
static const char M2[] = "msg2 from the child\n";
static const char M3[] = "msg3 after the point\n";
static const char M_THIRD[] = "from a process started after the point\n";
static const char GONE[] = "bytes in an unlinked FIFO";

/* Reads what is there now (non-blocking) into buf; returns the count. */
static size_t read_now(int fd, char *buf, size_t cap) {
    int fl = fcntl(fd, F_GETFL);
    t_assert(fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        t_assert(n < 0 && errno == EAGAIN);
        break;
    }
    t_assert(fcntl(fd, F_SETFL, fl) == 0);
    return got;
}

int main(void) {
    unlink("chan.fifo");
    unlink("gone.fifo");
    t_assert(mkfifo("chan.fifo", 0640) == 0);
    t_assert(mkfifo("gone.fifo", 0600) == 0);

    int go[2];
    t_assert(pipe(go) == 0);
    pid_t c = fork();
    t_assert(c >= 0);
    if (c == 0) {
        close(go[1]);
        int w = open("chan.fifo", O_WRONLY);
        t_assert(w >= 0);
        k_write_all(w, M1, strlen(M1));
        k_write_all(w, M2, strlen(M2));
        char x;
        t_assert(read(go[0], &x, 1) == 1); /* blocked here at the point */
        k_write_all(w, M3, strlen(M3));
        close(w);
        _exit(0);
    }
    close(go[0]);
    int r = open("chan.fifo", O_RDONLY);
    t_assert(r >= 0);
    /* Both messages are in the FIFO before the point. */
    int avail = 0;
    for (int i = 0; i < 1000 && avail != (int)(strlen(M1) + strlen(M2)); i++) {
        t_assert(ioctl(r, FIONREAD, &avail) == 0);
        if (avail != (int)(strlen(M1) + strlen(M2)))
            k_sleep_ms(10);
    }
    K_EXPECT(avail == (int)(strlen(M1) + strlen(M2)));
    int g = open("gone.fifo", O_RDWR | O_NONBLOCK);
    t_assert(g >= 0);
    k_write_all(g, GONE, strlen(GONE));
    t_assert(unlink("gone.fifo") == 0);

    t_checkpoint_point(1);

    char buf[256];
    size_t n = read_now(r, buf, sizeof buf);
    buf[n] = '\0';
    t_printf("in flight: %zu bytes: %s", n, k_ok(n == strlen(M1) + strlen(M2) && strncmp(buf, M1, strlen(M1)) == 0 &&
                                                  strcmp(buf + strlen(M1), M2) == 0));
    struct stat at_fd, at_path;
    t_assert(fstat(r, &at_fd) == 0);
    t_assert(stat("chan.fifo", &at_path) == 0);
    t_printf("read end is the FIFO at the path: %s, a FIFO: %s, mode %o", k_yes(at_fd.st_ino == at_path.st_ino && at_fd.st_dev == at_path.st_dev),
             k_yes(S_ISFIFO(at_fd.st_mode)), (unsigned)(at_path.st_mode & 0777));
    t_printf("read end: O_RDONLY %s, blocking %s", k_yes((fcntl(r, F_GETFL) & O_ACCMODE) == O_RDONLY), k_yes(!k_nonblock(r)));

    pid_t third = fork();
    t_assert(third >= 0);
    if (third == 0) {
        int w = open("chan.fifo", O_WRONLY | O_NONBLOCK);
        if (w < 0) {
            t_printf("third: open chan.fifo: %s", k_errname(errno));
            _exit(1);
        }
        k_write_all(w, M_THIRD, strlen(M_THIRD));
        _exit(0);
    }
    int st;
    t_assert(waitpid(third, &st, 0) == third);
    t_printf("third process: %s", k_status(st));
    K_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    n = 0;
    while (n < strlen(M_THIRD)) {
        k_wait_in(r);
        ssize_t k = read(r, buf + n, strlen(M_THIRD) - n);
        t_assert(k > 0);
        n += (size_t)k;
    }
    buf[n] = '\0';
    t_printf("from the third: %s", k_ok(strcmp(buf, M_THIRD) == 0));

    t_assert(write(go[1], "g", 1) == 1);
    n = 0;
    while (n < strlen(M3)) {
        k_wait_in(r);
        ssize_t k = read(r, buf + n, strlen(M3) - n);
        t_assert(k > 0);
        n += (size_t)k;
    }
    buf[n] = '\0';
    t_printf("child's last: %s", k_ok(strcmp(buf, M3) == 0));
    t_assert(waitpid(-1, &st, 0) > 0); /* the child (its pid may be new after a restart) */
    t_printf("child: %s", k_status(st));
    k_wait_in(r);
    t_printf("end of file after the child: %s", k_yes(read(r, buf, sizeof buf) == 0));

    n = read_now(g, buf, sizeof buf);
    buf[n] = '\0';
    t_printf("unlinked FIFO: '%s' %s", buf, k_ok(strcmp(buf, GONE) == 0));
    t_assert(fstat(g, &at_fd) == 0);
    t_printf("unlinked FIFO: a FIFO %s, links %lu, O_RDWR %s, non-blocking %s", k_yes(S_ISFIFO(at_fd.st_mode)),
             (unsigned long)at_fd.st_nlink, k_yes((fcntl(g, F_GETFL) & O_ACCMODE) == O_RDWR), k_yes(k_nonblock(g)));
    K_EXPECT(at_fd.st_nlink == 0);
    t_printf("gone.fifo absent: %s", k_yes(access("gone.fifo", F_OK) != 0));
    close(r);
    close(g);
    unlink("chan.fifo");
    k_finish();
}
