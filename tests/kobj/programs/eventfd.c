/* eventfd state across checkpoint/restart: a counter of 5 (non-blocking), an
 * EFD_SEMAPHORE one holding 3 (non-blocking) and a blocking one holding 7.
 * After restart the reads return 5, then 1 1 1 (semaphore), then EAGAIN on
 * empty non-blocking ones; flags and counters keep working. */
#include "kobj.h"

#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>

#define EMPTY 0   /* show_read's want for "EAGAIN" */

/* Reads fd once and prints the value (or error); want is the value it must
 * return, or EMPTY for EAGAIN. */
static void show_read(const char *name, int fd, uint64_t want) {
    uint64_t v = 0;
    struct pollfd pf = {fd, POLLIN, 0};
    if (!k_nonblock(fd) && poll(&pf, 1, 0) == 0) {   /* a read would block */
        t_printf("%s: read would block", name);
        K_EXPECT(!"the blocking eventfd holds a count");
        return;
    }
    ssize_t n = read(fd, &v, sizeof v);
    int err = errno;
    if (n < 0)
        t_printf("%s: read: %s", name, k_errname(err));
    else
        t_printf("%s: read %zd bytes: %" PRIu64, name, n, v);
    if (want == EMPTY)
        K_EXPECT(n < 0 && err == EAGAIN);
    else
        K_EXPECT(n == 8 && v == want);
}

static void add(int fd, uint64_t v) {
    t_assert(write(fd, &v, sizeof v) == (ssize_t)sizeof v);
}

/* Prints fdinfo's count and semaphore flag and the fd flags, and checks
 * them against the wanted ones. */
static void show_info(const char *when, const char *name, int fd, unsigned long long count_want,
                      int sem_want, int nonblock_want, int cloexec_want) {
    char count[64] = "?", sem[16] = "absent";
    t_assert(k_fdinfo(fd, "eventfd-count", count, sizeof count) == 0);
    int has_sem = k_fdinfo(fd, "eventfd-semaphore", sem, sizeof sem) == 0;
    t_printf("%s: %s fdinfo count %s semaphore %s, nonblock %d, cloexec %d", when, name,
             count, sem, k_nonblock(fd), k_cloexec(fd));
    K_EXPECT(strtoull(count, NULL, 16) == count_want);
    K_EXPECT(!has_sem || atoi(sem) == sem_want);
    K_EXPECT(k_nonblock(fd) == nonblock_want && k_cloexec(fd) == cloexec_want);
}

int main(void) {
    int ctr = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    int blk = eventfd(0, 0);
    t_assert(ctr >= 0 && sem >= 0 && blk >= 0);
    add(ctr, 2);
    add(ctr, 3);
    add(blk, 7);
    show_info("before", "counter", ctr, 5, 0, 1, 1);
    show_info("before", "semaphore", sem, 3, 1, 1, 0);
    show_info("before", "blocking", blk, 7, 0, 0, 0);

    t_checkpoint_point(1);

    show_info("after", "counter", ctr, 5, 0, 1, 1);
    show_info("after", "semaphore", sem, 3, 1, 1, 0);
    show_info("after", "blocking", blk, 7, 0, 0, 0);
    struct pollfd pf[3] = {{ctr, POLLIN | POLLOUT, 0}, {sem, POLLIN, 0}, {blk, POLLIN, 0}};
    t_assert(poll(pf, 3, 0) == 3);
    t_printf("poll: counter %#x semaphore %#x blocking %#x", pf[0].revents, pf[1].revents,
             pf[2].revents);
    K_EXPECT(pf[0].revents == (POLLIN | POLLOUT) && pf[1].revents == POLLIN &&
             pf[2].revents == POLLIN);

    show_read("counter", ctr, 5);
    show_read("counter", ctr, EMPTY);
    show_read("semaphore", sem, 1);
    show_read("semaphore", sem, 1);
    show_read("semaphore", sem, 1);
    show_read("semaphore", sem, EMPTY);
    show_read("blocking", blk, 7);

    /* They keep counting. */
    add(ctr, 40);
    add(ctr, 2);
    show_read("counter", ctr, 42);
    add(sem, 2);
    show_read("semaphore", sem, 1);
    show_read("semaphore", sem, 1);
    show_read("semaphore", sem, EMPTY);
    /* A counter at its maximum refuses more without blocking (O_NONBLOCK). */
    add(ctr, UINT64_MAX - 1);
    uint64_t one = 1;
    ssize_t n = write(ctr, &one, sizeof one);
    int err = errno;
    t_printf("counter: write past the maximum: %s", n < 0 ? k_errname(err) : "accepted");
    K_EXPECT(n < 0 && err == EAGAIN);
    show_read("counter", ctr, UINT64_MAX - 1);
    k_finish();
}
