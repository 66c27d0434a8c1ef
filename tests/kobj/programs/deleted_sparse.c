/* A deleted file of 3 GiB + 100 bytes, nearly all holes, open at the
 * checkpoint: data at 0 (8 KiB), at 1.5 GiB (64 KiB) and at 2 GiB (4 KiB),
 * then a hole up to its end; mode 0640 and, as root, owner 1234:5678.
 * After the restart it must still be unlinked, with the same size, mode,
 * owner, offset and contents, the same data/hole layout (SEEK_DATA/SEEK_HOLE)
 * and no more blocks allocated than the data needs: the holes must not come
 * back as written zeros. (One section of the image may hold at most 1 GiB:
 * the contents must be saved in bounded sections.) */
#include "kobj.h"

#include <stdint.h>
#include <sys/stat.h>

#define GIB (1024ll * 1024 * 1024)

static const struct {
    long long offset;
    size_t len;
    unsigned seed;
} extents[] = {
    {0, 8192, 1},
    {GIB + GIB / 2, 65536, 2},
    {2 * GIB, 4096, 3},
};
#define N_EXTENTS (sizeof extents / sizeof extents[0])
static const long long kSize = 3 * GIB + 100;

struct state {
    long long size, offset, allocated;
    unsigned mode, uid, gid, nlink;
    char layout[256];
    uint32_t sum;
};

/* The data ranges, as SEEK_DATA/SEEK_HOLE report them. */
static void layout(int fd, char *out, size_t cap) {
    out[0] = '\0';
    long long at = 0;
    for (;;) {
        long long data = lseek(fd, at, SEEK_DATA);
        if (data < 0)
            break;  /* ENXIO: no data beyond */
        long long hole = lseek(fd, data, SEEK_HOLE);
        t_assert(hole > data);
        snprintf(out + strlen(out), cap - strlen(out), "[%lld,%lld) ", data, hole);
        at = hole;
    }
}

static struct state observe(int fd) {
    struct state s;
    struct stat st;
    s.offset = lseek(fd, 0, SEEK_CUR);
    t_assert(fstat(fd, &st) == 0);
    s.size = st.st_size;
    s.allocated = (long long)st.st_blocks * 512;
    s.mode = st.st_mode & 07777;
    s.uid = st.st_uid;
    s.gid = st.st_gid;
    s.nlink = st.st_nlink;
    layout(fd, s.layout, sizeof s.layout);
    s.sum = 2166136261u;
    static char buf[65536];
    for (size_t i = 0; i < N_EXTENTS; ++i) {
        t_assert(pread(fd, buf, extents[i].len, extents[i].offset) == (ssize_t)extents[i].len);
        K_EXPECT(k_check(buf, extents[i].len, extents[i].seed) == extents[i].len);
        s.sum = k_fnv(s.sum, buf, extents[i].len);
    }
    lseek(fd, s.offset, SEEK_SET);
    return s;
}

static void show(const char *when, const struct state *s) {
    t_printf("%s: size %lld, offset %lld, mode %o, owner %u:%u, links %u, contents %08x", when, s->size, s->offset,
             s->mode, s->uid, s->gid, s->nlink, s->sum);
    t_printf("%s: data at %s", when, s->layout);
    /* Holes stay holes: a few MiB at most for 76 KiB of data (file systems
     * allocate in blocks or extents). */
    t_printf("%s: allocated no more than 8 MiB: %s", when, k_yes(s->allocated <= 8 * 1024 * 1024));
}

int main(void) {
    int fd = open("deleted_sparse.tmp", O_RDWR | O_CREAT | O_TRUNC, 0600);
    t_assert(fd >= 0);
    t_assert(fchmod(fd, 0640) == 0);
    if (geteuid() == 0)
        t_assert(fchown(fd, 1234, 5678) == 0);
    t_assert(ftruncate(fd, kSize) == 0);
    static char buf[65536];
    for (size_t i = 0; i < N_EXTENTS; ++i) {
        k_fill(buf, extents[i].len, extents[i].seed);
        t_assert(pwrite(fd, buf, extents[i].len, extents[i].offset) == (ssize_t)extents[i].len);
    }
    t_assert(lseek(fd, 12345, SEEK_SET) == 12345);
    t_assert(unlink("deleted_sparse.tmp") == 0);
    struct state before = observe(fd);
    show("before", &before);

    t_checkpoint_point(1);

    struct state after = observe(fd);
    show("after", &after);
    K_EXPECT(after.size == before.size && after.offset == before.offset);
    K_EXPECT(after.mode == before.mode && after.uid == before.uid && after.gid == before.gid);
    K_EXPECT(after.nlink == 0);
    K_EXPECT(strcmp(after.layout, before.layout) == 0);
    K_EXPECT(after.sum == before.sum);
    K_EXPECT(after.allocated <= 8 * 1024 * 1024);
    errno = 0;
    t_printf("after: path still absent: %s", k_yes(access("deleted_sparse.tmp", F_OK) != 0 && errno == ENOENT));
    k_finish();
}
