/* Unconnected unix datagram sockets with datagrams queued at the checkpoint
 * point (a server-style socket bound to a path, fed by several clients):
 * R is bound to r.sock and unconnected; U is unbound and uses sendto(); B is
 * bound to b.sock and uses sendto(); C is connect()ed to r.sock. At the point
 * R holds datagrams from U, B and C and B holds R's reply. After restart they
 * come back in order, with their sizes, bytes and sender addresses, and all
 * four sockets keep working. */
#include "kobj.h"

#include <limits.h>
#include <sys/socket.h>
#include <sys/un.h>

static struct sockaddr_un r_addr, b_addr;

static void make_addr(struct sockaddr_un *a, const char *name) {
    char cwd[PATH_MAX];
    t_assert(getcwd(cwd, sizeof cwd) != NULL);
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", cwd, name);
    t_assert(n > 0 && (size_t)n < sizeof a->sun_path);
    unlink(a->sun_path);
}

static const char *sender_name(const struct sockaddr_un *from, socklen_t len) {
    if (len <= sizeof(sa_family_t))
        return "unnamed";
    const char *slash = strrchr(from->sun_path, '/');
    return slash ? slash + 1 : from->sun_path;
}

static void send_to(int fd, const struct sockaddr_un *to, size_t len, unsigned seed) {
    char buf[4096];
    k_fill(buf, len, seed);
    ssize_t n = to ? sendto(fd, buf, len, 0, (const struct sockaddr *)to, sizeof *to)
                   : send(fd, buf, len, 0);
    t_assert(n == (ssize_t)len);
}

/* Receives up to max datagrams without blocking; prints size, content check
 * against seeds[k] and the sender. */
static void drain(const char *who, int fd, const unsigned *seeds, const size_t *sizes,
                  const char *const *from_names, int max) {
    for (int k = 0; k <= max; k++) {
        char buf[8192];
        struct sockaddr_un from;
        socklen_t fl = sizeof from;
        memset(&from, 0, sizeof from);
        ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            int err = errno;
            t_printf("%s: datagram %d: %s", who, k, k_errname(err));
            K_EXPECT(k == max && err == EAGAIN);
            return;
        }
        const char *sender = sender_name(&from, fl);
        t_printf("%s: datagram %d: %zd bytes from %s, content %s", who, k, n, sender,
                 k_ok(k < max && n == (ssize_t)sizes[k] && strcmp(sender, from_names[k]) == 0 &&
                      k_check(buf, (size_t)n, seeds[k]) == (size_t)n));
    }
}

int main(void) {
    make_addr(&r_addr, "r.sock");
    make_addr(&b_addr, "b.sock");
    int R = socket(AF_UNIX, SOCK_DGRAM, 0);
    int U = socket(AF_UNIX, SOCK_DGRAM, 0);
    int B = socket(AF_UNIX, SOCK_DGRAM, 0);
    int C = socket(AF_UNIX, SOCK_DGRAM, 0);
    t_assert(R >= 0 && U >= 0 && B >= 0 && C >= 0);
    t_assert(bind(R, (struct sockaddr *)&r_addr, sizeof r_addr) == 0);
    t_assert(bind(B, (struct sockaddr *)&b_addr, sizeof b_addr) == 0);
    t_assert(connect(C, (struct sockaddr *)&r_addr, sizeof r_addr) == 0);

    send_to(U, &r_addr, 10, 1);
    send_to(B, &r_addr, 300, 2);
    send_to(C, NULL, 2000, 3);
    send_to(U, &r_addr, 1, 4);
    send_to(R, &b_addr, 50, 5);

    t_checkpoint_point(1);

    static const unsigned r_seeds[] = {1, 2, 3, 4};
    static const size_t r_sizes[] = {10, 300, 2000, 1};
    static const char *const r_from[] = {"unnamed", "b.sock", "unnamed", "unnamed"};
    drain("R", R, r_seeds, r_sizes, r_from, 4);
    static const unsigned b_seeds[] = {5};
    static const size_t b_sizes[] = {50};
    static const char *const b_from[] = {"r.sock"};
    drain("B", B, b_seeds, b_sizes, b_from, 1);

    /* They keep working. */
    send_to(C, NULL, 77, 6);
    send_to(U, &r_addr, 8, 7);
    send_to(B, &r_addr, 9, 8);
    static const unsigned r2[] = {6, 7, 8};
    static const size_t r2_sizes[] = {77, 8, 9};
    static const char *const r2_from[] = {"unnamed", "unnamed", "b.sock"};
    drain("R new", R, r2, r2_sizes, r2_from, 3);
    send_to(R, &b_addr, 11, 9);
    static const unsigned b2[] = {9};
    static const size_t b2_sizes[] = {11};
    drain("B new", B, b2, b2_sizes, b_from, 1);

    struct sockaddr_un peer;
    socklen_t pl = sizeof peer;
    int r = getpeername(C, (struct sockaddr *)&peer, &pl);
    t_printf("C peer: %s", r == 0 ? sender_name(&peer, pl) : k_errname(errno));
    K_EXPECT(r == 0 && strcmp(sender_name(&peer, pl), "r.sock") == 0);
    pl = sizeof peer;
    r = getpeername(R, (struct sockaddr *)&peer, &pl);
    int err = r < 0 ? errno : 0;
    t_printf("R peer: %s", r == 0 ? sender_name(&peer, pl) : k_errname(err));
    K_EXPECT(r < 0 && err == ENOTCONN);

    unlink(r_addr.sun_path);
    unlink(b_addr.sun_path);
    k_finish();
}
