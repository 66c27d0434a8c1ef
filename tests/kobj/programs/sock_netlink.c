/* Netlink sockets at the point:
 *  - R: NETLINK_ROUTE, SOCK_RAW, bound with port id 0 (the kernel picks one), groups
 *    RTNLGRP_LINK (1) and RTNLGRP_IPV4_IFADDR (5) at bind, RTNLGRP_BRVLAN (33) added,
 *    NETLINK_EXT_ACK and NETLINK_NO_ENOBUFS on, SO_RCVBUF 100000, non-blocking;
 *  - P: NETLINK_ROUTE, SOCK_DGRAM, bound to a port id chosen here;
 *  - U: NETLINK_KOBJECT_UEVENT bound to group 1;
 *  - G: NETLINK_GENERIC, never bound.
 * After: each has its type, protocol, port id, groups and options; P's port id is taken
 * (a new socket cannot bind it); R answers an RTM_GETLINK dump with the loopback link. */
#include "kobj.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

struct facts {
    int type, protocol, nonblock, ext_ack, no_enobufs, rcvbuf;
    unsigned port;
    unsigned groups[4];
};

static int intopt(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    t_assert(getsockopt(fd, level, name, &v, &len) == 0);
    return v;
}

static struct facts facts_of(int fd) {
    struct facts f;
    memset(&f, 0, sizeof f);
    f.type = intopt(fd, SOL_SOCKET, SO_TYPE);
    f.protocol = intopt(fd, SOL_SOCKET, SO_PROTOCOL);
    f.nonblock = k_nonblock(fd);
    f.ext_ack = intopt(fd, SOL_NETLINK, NETLINK_EXT_ACK);
    f.no_enobufs = intopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS);
    f.rcvbuf = intopt(fd, SOL_SOCKET, SO_RCVBUF);
    struct sockaddr_nl a;
    socklen_t len = sizeof a;
    t_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    f.port = a.nl_pid;
    len = sizeof f.groups;
    t_assert(getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, f.groups, &len) == 0);
    return f;
}

static int nl_socket(int type, int protocol, unsigned port, unsigned groups) {
    int fd = socket(AF_NETLINK, type, protocol);
    t_assert(fd >= 0);
    if (port || groups) {
        struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_pid = port, .nl_groups = groups};
        t_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    }
    return fd;
}

/* Sends an RTM_GETLINK dump request on fd and reads the answer: whether a link named
 * "lo" came back before NLMSG_DONE. */
static int lo_listed(int fd) {
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } req = {{NLMSG_LENGTH(sizeof(struct ifinfomsg)), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, 0}, {0}};
    req.i.ifi_family = AF_UNSPEC;
    t_assert(send(fd, &req, req.h.nlmsg_len, 0) == (ssize_t)req.h.nlmsg_len);
    static char buf[1 << 16];
    int lo = 0;
    for (;;) {
        k_wait_in(fd);
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        t_assert(n > 0);
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE)
                return lo;
            if (h->nlmsg_type != RTM_NEWLINK)
                continue;
            struct ifinfomsg *i = NLMSG_DATA(h);
            int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *i);
            for (struct rtattr *a = IFLA_RTA(i); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == IFLA_IFNAME && strcmp(RTA_DATA(a), "lo") == 0)
                    lo = 1;
        }
    }
}

static void print_facts(const char *who, struct facts f) {
    t_printf("%s: type %d protocol %d nonblock %d ext_ack %d no_enobufs %d groups %x %x", who, f.type, f.protocol,
             f.nonblock, f.ext_ack, f.no_enobufs, f.groups[0], f.groups[1]);
}

int main(void) {
    int r = nl_socket(SOCK_RAW | SOCK_NONBLOCK, NETLINK_ROUTE, 0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR);
    int one = 1, g33 = RTNLGRP_BRVLAN;
    t_assert(setsockopt(r, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g33, sizeof g33) == 0);
    t_assert(setsockopt(r, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one) == 0);
    t_assert(setsockopt(r, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one) == 0);
    int rcvbuf = 100000; /* SOL_SOCKET option: read back doubled */
    t_assert(setsockopt(r, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0);
    unsigned chosen = 0x40000000u | (unsigned)getpid();
    int p = nl_socket(SOCK_DGRAM, NETLINK_ROUTE, chosen, 0);
    int u = nl_socket(SOCK_DGRAM, NETLINK_KOBJECT_UEVENT, 0, 1);
    int g = nl_socket(SOCK_RAW, NETLINK_GENERIC, 0, 0);
    struct facts before[4] = {facts_of(r), facts_of(p), facts_of(u), facts_of(g)};
    const char *names[4] = {"R", "P", "U", "G"};

    t_checkpoint_point(1);

    int fds[4] = {r, p, u, g};
    for (int i = 0; i < 4; i++) {
        struct facts after = facts_of(fds[i]);
        print_facts(names[i], after);
        t_printf("%s: same port id %s, same as before %s", names[i], k_yes(after.port == before[i].port),
                 k_yes(memcmp(&after, &before[i], sizeof after) == 0));
    }
    K_EXPECT(before[0].rcvbuf == 200000);
    K_EXPECT(before[0].groups[0] == 0x11 && before[0].groups[1] == 1 && before[1].port == chosen && before[3].port == 0);
    int again = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
    struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_pid = chosen};
    int rc = bind(again, (struct sockaddr *)&a, sizeof a);
    int err = errno;
    t_printf("P: binding its port id again: %s", rc == 0 ? "bound" : err == EADDRINUSE ? "EADDRINUSE" : k_errname(err));
    K_EXPECT(rc != 0 && err == EADDRINUSE);
    t_printf("R: RTM_GETLINK dump lists lo: %s", k_yes(lo_listed(r)));
    k_finish();
}
