/* epoll registrations the kernel keeps by (file, fd number), across
 * checkpoint/restart:
 *   - an eventfd registered under fd A and under its dup B (two registrations
 *     of one file, data 1 and 2);
 *   - a pipe's read end registered under fd C, then C dup'ed to D and closed:
 *     the registration (data 3) stays while the file lives;
 *   - the epoll fd itself dup'ed (E2 = dup(E)): one instance, one set of
 *     registrations.
 * After the restart the instance must have exactly the three registrations,
 * under the same numbers (fdinfo tfd lines), and report all three events once
 * the eventfd and the pipe are written; EPOLL_CTL_DEL of B removes only B's
 * (the eventfd then reports data 1 alone). Fd C's number is taken by another
 * file meanwhile (crtest's control file, opened at the checkpoint point): the
 * registration under C must stay the pipe's. */
#include "kobj.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>

static int ep, ep2, ev_a, ev_b, pipe_w, pipe_c, pipe_d;

/* v[0..n) in increasing order, as one line. */
static void sorted_line(uint64_t *v, int n, char *out, size_t cap) {
    for (int i = 0; i < n; ++i)
        for (int j = i + 1; j < n; ++j)
            if (v[j] < v[i]) {
                uint64_t x = v[i];
                v[i] = v[j];
                v[j] = x;
            }
    out[0] = '\0';
    for (int i = 0; i < n; ++i)
        snprintf(out + strlen(out), cap - strlen(out), "%s%llu", i ? " " : "", (unsigned long long)v[i]);
}

/* The tfd numbers of ep's registrations, sorted, as one line. */
static void show_tfds(const char *when, const char *want) {
    char path[64], line[256], out[128];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ep);
    FILE *f = fopen(path, "r");
    t_assert(f != NULL);
    uint64_t tfds[16];
    int n = 0, tfd;
    while (fgets(line, sizeof line, f))
        if (n < 16 && sscanf(line, "tfd: %d", &tfd) == 1)
            tfds[n++] = (uint64_t)tfd;
    fclose(f);
    sorted_line(tfds, n, out, sizeof out);
    t_printf("%s: registrations under fds %s (%s)", when, out, k_ok(strcmp(out, want) == 0));
}

/* The data of the ready registrations, sorted, as one line. */
static void show_ready(const char *when, int fd, const char *want) {
    struct epoll_event evs[8];
    int n = epoll_wait(fd, evs, 8, 1000);
    t_assert(n >= 0);
    uint64_t d[8];
    for (int i = 0; i < n; ++i)
        d[i] = evs[i].data.u64;
    char out[64];
    sorted_line(d, n, out, sizeof out);
    t_printf("%s: ready %s (%s)", when, out, k_ok(strcmp(out, want) == 0));
}

static void add(int fd, uint64_t data) {
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = data};
    t_assert(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) == 0);
}

int main(void) {
    ep = epoll_create1(EPOLL_CLOEXEC);
    t_assert(ep >= 0);
    ev_a = eventfd(0, EFD_NONBLOCK);
    ev_b = dup(ev_a);
    int p[2];
    t_assert(pipe2(p, O_NONBLOCK) == 0);
    pipe_c = p[0];
    pipe_w = p[1];
    add(ev_a, 1);
    add(ev_b, 2);
    add(pipe_c, 3);
    pipe_d = dup(pipe_c);
    t_assert(pipe_d >= 0 && close(pipe_c) == 0);
    ep2 = dup(ep);
    t_assert(ep2 >= 0);
    char want[64];
    snprintf(want, sizeof want, "%d %d %d", ev_a, ev_b, pipe_c);
    show_tfds("before", want);
    show_ready("before (nothing written)", ep, "");

    t_checkpoint_point(1);

    show_tfds("after", want);
    /* Fd C is closed, or the number went to another file (crtest's control file). */
    struct stat c_st, d_st;
    t_assert(fstat(pipe_d, &d_st) == 0);
    int other = fstat(pipe_c, &c_st) != 0 || c_st.st_ino != d_st.st_ino;
    t_printf("after: fd C is no longer the pipe: %s", k_yes(other));
    uint64_t one = 1;
    t_assert(write(ev_a, &one, sizeof one) == sizeof one);
    t_assert(write(pipe_w, "x", 1) == 1);
    show_ready("after (both written)", ep, "1 2 3");
    show_ready("after, through the dup'ed epoll fd", ep2, "1 2 3");
    t_assert(epoll_ctl(ep, EPOLL_CTL_DEL, ev_b, NULL) == 0);
    snprintf(want, sizeof want, "%d %d", ev_a, pipe_c);
    show_tfds("after EPOLL_CTL_DEL of B", want);
    show_ready("after EPOLL_CTL_DEL of B", ep, "1 3");
    k_finish();
}
