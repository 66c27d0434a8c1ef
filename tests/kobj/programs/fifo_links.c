/* One FIFO inode with two names: "a.fifo" and its hard link "b.fifo". The read end is
 * opened through "a.fifo", the write end through "b.fifo", and one message is left in
 * the FIFO at the point. After the point (after restart, in restart mode, whether or
 * not the names were removed meanwhile): the message is there once, a second one
 * written through the "b.fifo" end is read through the "a.fifo" end, and both ends
 * and both names are one inode with two links. */
#include "kobj.h"

#include <sys/stat.h>

static const char M1[] = "before the point\n";
static const char M2[] = "after the point\n";

static void read_exactly(int fd, char *buf, size_t len) {
    size_t n = 0;
    while (n < len) {
        k_wait_in(fd);
        ssize_t k = read(fd, buf + n, len - n);
        t_assert(k > 0);
        n += (size_t)k;
    }
    buf[n] = '\0';
}

int main(void) {
    unlink("a.fifo");
    unlink("b.fifo");
    t_assert(mkfifo("a.fifo", 0640) == 0);
    t_assert(link("a.fifo", "b.fifo") == 0);
    int r = open("a.fifo", O_RDONLY | O_NONBLOCK);
    t_assert(r >= 0);
    int w = open("b.fifo", O_WRONLY);
    t_assert(w >= 0);
    k_write_all(w, M1, strlen(M1));

    t_checkpoint_point(1);

    char buf[64];
    read_exactly(r, buf, strlen(M1));
    t_printf("in flight: %s", k_ok(strcmp(buf, M1) == 0));
    k_write_all(w, M2, strlen(M2));
    read_exactly(r, buf, strlen(M2));
    t_printf("through b.fifo to a.fifo: %s", k_ok(strcmp(buf, M2) == 0));

    struct stat sr, sw, sa, sb;
    t_assert(fstat(r, &sr) == 0 && fstat(w, &sw) == 0);
    int have_a = stat("a.fifo", &sa) == 0, have_b = stat("b.fifo", &sb) == 0;
    t_printf("names: a.fifo %s, b.fifo %s", k_yes(have_a), k_yes(have_b));
    K_EXPECT(have_a && have_b);
    if (have_a && have_b) {
        t_printf("one inode (both ends, both names): %s", k_yes(sr.st_ino == sw.st_ino && sr.st_dev == sw.st_dev &&
                                                           sa.st_ino == sr.st_ino && sb.st_ino == sr.st_ino &&
                                                           sa.st_dev == sr.st_dev && sb.st_dev == sr.st_dev));
        t_printf("links: %lu, a FIFO %s, mode %o", (unsigned long)sa.st_nlink, k_yes(S_ISFIFO(sa.st_mode)),
                 (unsigned)(sa.st_mode & 0777));
        K_EXPECT(sa.st_ino == sr.st_ino && sb.st_ino == sr.st_ino && sw.st_ino == sr.st_ino && sa.st_nlink == 2);
    }
    close(r);
    close(w);
    unlink("a.fifo");
    unlink("b.fifo");
    k_finish();
}
