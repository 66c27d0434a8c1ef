/* Packet sockets (root), at the point:
 *  - A: SOCK_RAW, ethertype 0x88b5 (local experimental), bound to lo, TPACKET_V2,
 *    PACKET_AUXDATA, PACKET_ORIGDEV, PACKET_RESERVE 64, a multicast membership on lo,
 *    in a hash fanout group, SO_RCVBUF 300000;
 *  - B: SOCK_DGRAM, protocol 0 (receives nothing), not bound, PACKET_IGNORE_OUTGOING.
 * After: each has its type, protocol, interface, options, membership and fanout; a frame
 * sent on lo with ethertype 0x88b5 reaches A, with its payload. */
#include "kobj.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#define PROTO 0x88b5

struct facts {
    int type, version, auxdata, origdev, reserve, ignore_outgoing, fanout, rcvbuf;
    unsigned short protocol;
    int ifindex;
};

static int packetopt(int fd, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    t_assert(getsockopt(fd, SOL_PACKET, name, &v, &len) == 0);
    return v;
}

static struct facts facts_of(int fd) {
    struct facts f;
    memset(&f, 0, sizeof f);
    socklen_t len = sizeof f.type;
    t_assert(getsockopt(fd, SOL_SOCKET, SO_TYPE, &f.type, &len) == 0);
    len = sizeof f.rcvbuf;
    t_assert(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &f.rcvbuf, &len) == 0);
    f.version = packetopt(fd, PACKET_VERSION);
    f.auxdata = packetopt(fd, PACKET_AUXDATA);
    f.origdev = packetopt(fd, PACKET_ORIGDEV);
    f.reserve = packetopt(fd, PACKET_RESERVE);
    f.ignore_outgoing = packetopt(fd, PACKET_IGNORE_OUTGOING);
    f.fanout = packetopt(fd, PACKET_FANOUT);
    struct sockaddr_ll a;
    len = sizeof a;
    t_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    f.protocol = ntohs(a.sll_protocol);
    f.ifindex = a.sll_ifindex;
    return f;
}

/* Whether /proc/net/dev_mcast lists 01:00:5e:00:00:fb on lo. */
static int lo_listens(void) {
    FILE *f = fopen("/proc/net/dev_mcast", "r");
    t_assert(f != NULL);
    char line[256];
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, " lo ") && strstr(line, "01005e0000fb"))
            found = 1;
    fclose(f);
    return found;
}

static void setint(int fd, int level, int name, int value) {
    t_assert(setsockopt(fd, level, name, &value, sizeof value) == 0);
}

int main(void) {
    int lo = (int)if_nametoindex("lo");
    t_assert(lo > 0);
    int a = socket(AF_PACKET, SOCK_RAW, htons(PROTO));
    if (a < 0 && errno == EPERM) {
        t_printf("SKIP: packet sockets need CAP_NET_RAW");
        return 77;
    }
    t_assert(a >= 0);
    setint(a, SOL_PACKET, PACKET_VERSION, TPACKET_V2);
    setint(a, SOL_PACKET, PACKET_AUXDATA, 1);
    setint(a, SOL_PACKET, PACKET_ORIGDEV, 1);
    setint(a, SOL_PACKET, PACKET_RESERVE, 64);
    setint(a, SOL_SOCKET, SO_RCVBUF, 150000);
    struct sockaddr_ll bind_to = {.sll_family = AF_PACKET, .sll_protocol = htons(PROTO), .sll_ifindex = lo};
    t_assert(bind(a, (struct sockaddr *)&bind_to, sizeof bind_to) == 0);
    struct packet_mreq mreq = {.mr_ifindex = lo, .mr_type = PACKET_MR_MULTICAST, .mr_alen = 6,
                               .mr_address = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}};
    t_assert(setsockopt(a, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) == 0);
    int group = (getpid() & 0xffff) | (PACKET_FANOUT_HASH << 16);
    setint(a, SOL_PACKET, PACKET_FANOUT, group);
    int b = socket(AF_PACKET, SOCK_DGRAM, 0);
    t_assert(b >= 0);
    setint(b, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
    struct facts before[2] = {facts_of(a), facts_of(b)};

    t_checkpoint_point(1);

    struct facts after[2] = {facts_of(a), facts_of(b)};
    for (int i = 0; i < 2; i++)
        t_printf("%c: type %d protocol %#x on lo %s version %d auxdata %d origdev %d reserve %d ignore_outgoing %d "
                 "fanout as set %s rcvbuf %d, same as before %s",
                 'A' + i, after[i].type, after[i].protocol, k_yes((after[i].ifindex == lo) == (i == 0)),
                 after[i].version, after[i].auxdata, after[i].origdev, after[i].reserve, after[i].ignore_outgoing,
                 k_yes(i == 0 ? after[i].fanout == group : after[i].fanout == 0), after[i].rcvbuf,
                 k_yes(memcmp(&after[i], &before[i], sizeof after[i]) == 0));
    /* The membership: lo listens to the address (/proc/net/dev_mcast) until it is dropped. */
    int listed = lo_listens();
    t_assert(setsockopt(a, SOL_PACKET, PACKET_DROP_MEMBERSHIP, &mreq, sizeof mreq) == 0);
    t_printf("A: lo listens to 01:00:5e:00:00:fb %s, not after the membership is dropped %s", k_yes(listed),
             k_yes(!lo_listens()));

    /* A frame on lo with the ethertype reaches A. */
    int tx = socket(AF_PACKET, SOCK_RAW, 0);
    t_assert(tx >= 0);
    unsigned char frame[64] = {0};
    frame[12] = PROTO >> 8;
    frame[13] = PROTO & 0xff;
    memcpy(frame + 14, "crest packet", 12);
    struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_ifindex = lo, .sll_halen = 6};
    t_assert(sendto(tx, frame, sizeof frame, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)sizeof frame);
    unsigned char got[128];
    int found = 0;
    for (int i = 0; i < 8 && !found; i++) {
        k_wait_in(a);
        ssize_t n = recv(a, got, sizeof got, 0);
        found = n >= 26 && memcmp(got + 14, "crest packet", 12) == 0;
    }
    t_printf("A: the frame sent on lo received %s", k_yes(found));
    k_finish();
}
