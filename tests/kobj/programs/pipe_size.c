/* Pipes across checkpoint/restart: one enlarged to 1 MiB with F_SETPIPE_SZ
 * and holding 600 KiB at the point, one of the default size holding 1000
 * bytes with a non-blocking read end. After restart the sizes, the byte
 * counts and every byte are as they were, and the big pipe really holds
 * 1 MiB again (a non-blocking writer fills exactly that much). */
#include "kobj.h"

#include <inttypes.h>
#include <sys/ioctl.h>

#define BIG (1 << 20)
#define FILL (600 * 1024)

static char buf[BIG];

static int inq(int fd) {
    int n = -1;
    t_assert(ioctl(fd, FIONREAD, &n) == 0);
    return n;
}

int main(void) {
    int big[2], small[2];
    t_assert(pipe(big) == 0);
    t_assert(pipe(small) == 0);
    int sz = fcntl(big[1], F_SETPIPE_SZ, BIG);
    t_printf("F_SETPIPE_SZ 1 MiB returns %d", sz);
    t_assert(sz == BIG);
    k_fill(buf, FILL, 5);
    k_write_all(big[1], buf, FILL);
    k_fill(buf, 1000, 6);
    k_write_all(small[1], buf, 1000);
    t_assert(fcntl(small[0], F_SETFL, O_NONBLOCK) == 0);
    t_printf("before: big size %d holds %d; small size %d holds %d",
             fcntl(big[0], F_GETPIPE_SZ), inq(big[0]), fcntl(small[0], F_GETPIPE_SZ),
             inq(small[0]));

    t_checkpoint_point(1);

    t_printf("after: big size %d (write end %d) holds %d; small size %d holds %d",
             fcntl(big[0], F_GETPIPE_SZ), fcntl(big[1], F_GETPIPE_SZ), inq(big[0]),
             fcntl(small[0], F_GETPIPE_SZ), inq(small[0]));
    K_EXPECT(fcntl(big[0], F_GETPIPE_SZ) == BIG && fcntl(big[1], F_GETPIPE_SZ) == BIG);
    K_EXPECT(inq(big[0]) == FILL);
    K_EXPECT(fcntl(small[0], F_GETPIPE_SZ) == 65536 && inq(small[0]) == 1000);
    t_printf("after: nonblock big r/w %d %d, small r/w %d %d", k_nonblock(big[0]),
             k_nonblock(big[1]), k_nonblock(small[0]), k_nonblock(small[1]));
    K_EXPECT(!k_nonblock(big[0]) && !k_nonblock(big[1]) && k_nonblock(small[0]) &&
             !k_nonblock(small[1]));

    /* The 600 KiB, read in odd-sized pieces. */
    memset(buf, 0, sizeof buf);
    k_read_full(big[0], buf, FILL);
    size_t bad = k_check(buf, FILL, 5);
    t_printf("big: read %d bytes, content %s, digest %08" PRIx32, FILL, k_ok(bad == FILL),
             k_fnv(K_FNV_INIT, buf, FILL));
    if (bad != FILL)
        t_printf("  (first difference at offset %zu)", bad);
    t_printf("big: now holds %d", inq(big[0]));
    K_EXPECT(inq(big[0]) == 0);

    ssize_t n = read(small[0], buf, sizeof buf);
    t_printf("small: read %zd bytes, content %s", n,
             k_ok(n == 1000 && k_check(buf, 1000, 6) == 1000));
    n = read(small[0], buf, sizeof buf);
    int err = errno;
    t_printf("small: read again: %s", n < 0 ? k_errname(err) : "data");
    K_EXPECT(n < 0 && err == EAGAIN);

    /* Capacity: a non-blocking writer fits exactly 1 MiB in the big pipe. */
    t_assert(fcntl(big[1], F_SETFL, O_NONBLOCK) == 0);
    k_fill(buf, 4096, 7);
    size_t total = 0;
    for (;;) {
        n = write(big[1], buf, 4096);
        if (n < 0) {
            t_assert(errno == EAGAIN);
            break;
        }
        total += (size_t)n;
    }
    t_printf("big: non-blocking writes accepted %zu bytes", total);
    K_EXPECT(total == BIG);
    k_finish();
}
