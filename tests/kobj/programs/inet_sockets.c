/* IPv4/IPv6 sockets that come back bound, listening and with their options:
 *  - a TCP listener on 127.0.0.1:<ephemeral>, backlog 7, non-blocking, with
 *    SO_REUSEADDR, SO_KEEPALIVE, SO_RCVBUF, SO_LINGER, IP_TOS, TCP_NODELAY,
 *    TCP_KEEPIDLE/INTVL/CNT and TCP_DEFER_ACCEPT set;
 *  - an IPv6-only listener on [::1], and a dual-stack one on [::] (V6ONLY 0);
 *  - an unbound TCP socket with TCP_NODELAY;
 *  - a UDP socket bound to 127.0.0.1 and one connected to it, with
 *    SO_RCVTIMEO and IP_TTL set;
 *  - an ICMP ping socket bound to an id, where net.ipv4.ping_group_range lets
 *    this user have one;
 *  - a raw ICMP socket with an ICMP_FILTER letting only echo replies in, where
 *    this user may (CAP_NET_RAW).
 * After the point each socket's name, state and options are compared with what
 * they were before, and each is used: a connection to every listener (the
 * dual-stack one through 127.0.0.1 too), a datagram both ways. */
#include "kobj.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#ifndef ICMP_FILTER
#define ICMP_FILTER 1 /* linux/icmp.h */
#endif

struct opt { int level, name; const char *label; };

static const struct opt kOpts[] = {
    {SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR"}, {SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE"},
    {SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF"},       {SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF"},
    {SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN"}, {SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY"},
    {IPPROTO_IP, IP_TOS, "IP_TOS"},             {IPPROTO_IP, IP_TTL, "IP_TTL"},
    {IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY"},   {IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE"},
    {IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL"}, {IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT"},
    {IPPROTO_TCP, TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT"},
    {IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY"},
};
#define NOPTS (int)(sizeof kOpts / sizeof *kOpts)

struct state {
    struct sockaddr_storage name;
    socklen_t namelen;
    int values[NOPTS];
    int flags;
    struct linger linger;
    struct timeval rcvtimeo;
    unsigned backlog;
};

static void snap(int fd, struct state *s) {
    memset(s, 0, sizeof *s);
    s->namelen = sizeof s->name;
    t_assert(getsockname(fd, (struct sockaddr *)&s->name, &s->namelen) == 0);
    for (int i = 0; i < NOPTS; i++) {
        socklen_t l = sizeof(int);
        if (getsockopt(fd, kOpts[i].level, kOpts[i].name, &s->values[i], &l) != 0)
            s->values[i] = -12345;
    }
    s->flags = fcntl(fd, F_GETFL);
    socklen_t l = sizeof s->linger;
    t_assert(getsockopt(fd, SOL_SOCKET, SO_LINGER, &s->linger, &l) == 0);
    l = sizeof s->rcvtimeo;
    t_assert(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &s->rcvtimeo, &l) == 0);
    struct tcp_info ti;
    l = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0 && ti.tcpi_state == TCP_LISTEN)
        s->backlog = ti.tcpi_sacked;
}

static void compare(const char *what, int fd, const struct state *before) {
    struct state now;
    snap(fd, &now);
    int same_name = now.namelen == before->namelen && memcmp(&now.name, &before->name, now.namelen) == 0;
    t_printf("%s: same address and port: %s", what, k_yes(same_name));
    K_EXPECT(same_name);
    for (int i = 0; i < NOPTS; i++) {
        if (now.values[i] != before->values[i]) {
            t_printf("%s: %s was %d, now %d", what, kOpts[i].label, before->values[i], now.values[i]);
            K_EXPECT(0);
        }
    }
    int same = now.flags == before->flags && now.linger.l_onoff == before->linger.l_onoff &&
               now.linger.l_linger == before->linger.l_linger &&
               now.rcvtimeo.tv_sec == before->rcvtimeo.tv_sec && now.rcvtimeo.tv_usec == before->rcvtimeo.tv_usec &&
               now.backlog == before->backlog;
    t_printf("%s: same flags, linger, timeout, backlog: %s", what, k_yes(same));
    K_EXPECT(same);
}

static uint16_t checksum16(const void *data, size_t len) {
    const uint16_t *p = data;
    uint32_t sum = 0;
    for (; len > 1; len -= 2)
        sum += *p++;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void seti(int fd, int level, int name, int v) { t_assert(setsockopt(fd, level, name, &v, sizeof v) == 0); }

static int tcp_listener(int family, const char *addr, int v6only, int backlog) {
    int fd = socket(family, SOCK_STREAM, 0);
    t_assert(fd >= 0);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        t_assert(inet_pton(AF_INET, addr, &a->sin_addr) == 1);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        t_assert(inet_pton(AF_INET6, addr, &a->sin6_addr) == 1);
        len = sizeof *a;
        seti(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only);
    }
    t_assert(bind(fd, (struct sockaddr *)&ss, len) == 0);
    t_assert(listen(fd, backlog) == 0);
    return fd;
}

static int port_of(int fd) {
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    t_assert(getsockname(fd, (struct sockaddr *)&ss, &l) == 0);
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Connects to the listener through `family`/`addr`, sends a line, and has it
 * accepted and echoed back. */
static void use_listener(const char *what, int lfd, int family, const char *addr) {
    int c = socket(family, SOCK_STREAM, 0);
    t_assert(c >= 0);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port_of(lfd));
        inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port_of(lfd));
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof *a;
    }
    int r = connect(c, (struct sockaddr *)&ss, len);
    t_printf("%s: connect through %s: %s", what, addr, r == 0 ? "OK" : k_errname(errno));
    K_EXPECT(r == 0);
    if (r != 0) {
        close(c);
        return;
    }
    k_write_all(c, "hello", 5);   /* TCP_DEFER_ACCEPT: accept once data is there */
    k_wait_in(lfd);
    int s = accept(lfd, NULL, NULL);
    t_assert(s >= 0);
    char buf[8] = {0};
    k_read_full(s, buf, 5);
    t_printf("%s: accepted, got %s", what, buf);
    close(s);
    close(c);
}

int main(void) {
    int l4 = tcp_listener(AF_INET, "127.0.0.1", 0, 7);
    seti(l4, SOL_SOCKET, SO_REUSEADDR, 1);
    seti(l4, SOL_SOCKET, SO_KEEPALIVE, 1);
    seti(l4, SOL_SOCKET, SO_RCVBUF, 50000);
    seti(l4, SOL_SOCKET, SO_PRIORITY, 3);
    seti(l4, IPPROTO_IP, IP_TOS, 0x10);
    seti(l4, IPPROTO_TCP, TCP_NODELAY, 1);
    seti(l4, IPPROTO_TCP, TCP_KEEPIDLE, 77);
    seti(l4, IPPROTO_TCP, TCP_KEEPINTVL, 11);
    seti(l4, IPPROTO_TCP, TCP_KEEPCNT, 4);
    seti(l4, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5);
    struct linger lg = {1, 3};
    t_assert(setsockopt(l4, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    t_assert(fcntl(l4, F_SETFL, O_NONBLOCK) == 0);
    int l6 = tcp_listener(AF_INET6, "::1", 1, 3);
    int dual = tcp_listener(AF_INET6, "::", 0, 5);
    int unbound = socket(AF_INET, SOCK_STREAM, 0);
    t_assert(unbound >= 0);
    seti(unbound, IPPROTO_TCP, TCP_NODELAY, 1);

    int u1 = socket(AF_INET, SOCK_DGRAM, 0);
    t_assert(u1 >= 0);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    t_assert(bind(u1, (struct sockaddr *)&ua, sizeof ua) == 0);
    socklen_t ul = sizeof ua;
    t_assert(getsockname(u1, (struct sockaddr *)&ua, &ul) == 0);
    struct timeval tv = {4, 500000};
    t_assert(setsockopt(u1, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    int u2 = socket(AF_INET, SOCK_DGRAM, 0);
    t_assert(u2 >= 0);
    seti(u2, IPPROTO_IP, IP_TTL, 17);
    t_assert(connect(u2, (struct sockaddr *)&ua, sizeof ua) == 0);

    int ping = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
    if (ping >= 0) {
        struct sockaddr_in pa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                 .sin_port = htons(4242)};
        if (bind(ping, (struct sockaddr *)&pa, sizeof pa) != 0) {
            close(ping);
            ping = -1;
        }
    }

    int raw = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    uint32_t only_replies = ~(1u << ICMP_ECHOREPLY);
    if (raw >= 0)
        t_assert(setsockopt(raw, SOL_RAW, ICMP_FILTER, &only_replies, sizeof only_replies) == 0);

    struct state s_l4, s_l6, s_dual, s_unbound, s_u1, s_u2, s_ping;
    snap(l4, &s_l4);
    snap(l6, &s_l6);
    snap(dual, &s_dual);
    snap(unbound, &s_unbound);
    snap(u1, &s_u1);
    snap(u2, &s_u2);
    if (ping >= 0)
        snap(ping, &s_ping);
    struct state s_raw;
    if (raw >= 0)
        snap(raw, &s_raw);

    t_checkpoint_point(1);

    compare("tcp4 listener", l4, &s_l4);
    compare("tcp6 v6only listener", l6, &s_l6);
    compare("dual-stack listener", dual, &s_dual);
    compare("unbound tcp", unbound, &s_unbound);
    compare("udp bound", u1, &s_u1);
    compare("udp connected", u2, &s_u2);
    if (ping >= 0)
        compare("ping socket", ping, &s_ping);
    if (raw >= 0) {
        compare("raw icmp socket", raw, &s_raw);
        uint32_t filter = 0;
        socklen_t fl = sizeof filter;
        t_assert(getsockopt(raw, SOL_RAW, ICMP_FILTER, &filter, &fl) == 0);
        t_printf("raw icmp socket: same ICMP_FILTER: %s", k_yes(filter == only_replies));
        K_EXPECT(filter == only_replies);
    }

    use_listener("tcp4 listener", l4, AF_INET, "127.0.0.1");
    use_listener("tcp6 v6only listener", l6, AF_INET6, "::1");
    use_listener("dual-stack listener", dual, AF_INET, "127.0.0.1");
    use_listener("dual-stack listener", dual, AF_INET6, "::1");

    /* A datagram each way between the UDP sockets. */
    t_assert(send(u2, "to u1", 5, 0) == 5);
    char buf[16] = {0};
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    k_wait_in(u1);
    ssize_t n = recvfrom(u1, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
    t_assert(n == 5);
    t_printf("udp: u1 got '%s'", buf);
    t_assert(sendto(u1, "to u2", 5, 0, (struct sockaddr *)&from, fl) == 5);
    memset(buf, 0, sizeof buf);
    k_wait_in(u2);
    t_assert(recv(u2, buf, sizeof buf - 1, 0) == 5);
    t_printf("udp: u2 got '%s'", buf);

    if (ping >= 0) {
        struct icmphdr h = {.type = ICMP_ECHO, .un.echo.sequence = htons(1)};
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        t_assert(sendto(ping, &h, sizeof h, 0, (struct sockaddr *)&to, sizeof to) == sizeof h);
        struct icmphdr reply;
        k_wait_in(ping);
        t_assert(recv(ping, &reply, sizeof reply, 0) == sizeof reply);
        int ok = reply.type == ICMP_ECHOREPLY && ntohs(reply.un.echo.id) == 4242;
        t_printf("ping: echo reply to id 4242: %s", k_yes(ok));
        K_EXPECT(ok);
    }
    if (raw >= 0) {
        /* An echo request sent through the raw socket: only the reply comes back in. */
        struct icmphdr h = {.type = ICMP_ECHO, .un.echo.id = htons(777), .un.echo.sequence = htons(1)};
        h.checksum = checksum16(&h, sizeof h);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        t_assert(sendto(raw, &h, sizeof h, 0, (struct sockaddr *)&to, sizeof to) == sizeof h);
        unsigned char pkt[128];
        k_wait_in(raw);
        ssize_t got = recv(raw, pkt, sizeof pkt, 0);
        t_assert(got >= 20 + (ssize_t)sizeof h);
        struct icmphdr *reply = (struct icmphdr *)(pkt + (pkt[0] & 15) * 4);
        int ok = reply->type == ICMP_ECHOREPLY && ntohs(reply->un.echo.id) == 777;
        t_printf("raw icmp: only the echo reply came in: %s", k_yes(ok));
        K_EXPECT(ok);
    }
    k_finish();
}
