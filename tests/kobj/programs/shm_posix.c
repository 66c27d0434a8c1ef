/* Shared memory across checkpoint/restart, between a process and a child
 * forked before the point: a POSIX shm object (shm_open in /dev/shm, mmap
 * MAP_SHARED), a memfd mapped MAP_SHARED and a MAP_SHARED|MAP_ANONYMOUS area.
 * Written before the point by the parent; after restart the parent writes
 * more, the child (blocked on a pipe at the point) checks both writes, then
 * writes through its mappings and through the fds (pwrite); the parent sees
 * all the child's writes, through its mappings and through the fds. */
#include "kobj.h"

#include <sys/mman.h>
#include <sys/stat.h>

#define SHM_LEN (64 * 1024)
#define MFD_LEN (32 * 1024)
#define ANON_LEN (16 * 1024)

static char *shm, *mfdmap, *anon;
static int shm_fd, mfd;

struct region {
    const char *name;
    char **map;
    int *fd;   /* NULL for the anonymous area */
};
static const struct region regions[] = {
    {"shm", &shm, &shm_fd},
    {"memfd", &mfdmap, &mfd},
    {"anon", &anon, NULL},
};
#define NREG 3

static int has(const char *map, size_t off, const char *s) {
    return memcmp(map + off, s, strlen(s) + 1) == 0;
}

static int fd_has(int fd, size_t off, const char *s) {
    char buf[128];
    size_t len = strlen(s) + 1;
    return pread(fd, buf, len, (off_t)off) == (ssize_t)len && memcmp(buf, s, len) == 0;
}

/* Inode of the file behind the mapping at addr (from /proc/self/maps). */
static unsigned long map_inode(const void *addr) {
    FILE *f = fopen("/proc/self/maps", "r");
    t_assert(f != NULL);
    char line[512];
    unsigned long ino = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, inode;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &lo, &hi, &inode) == 3 &&
            (unsigned long)addr >= lo && (unsigned long)addr < hi) {
            ino = inode;
            break;
        }
    }
    fclose(f);
    return ino;
}

static int same_file(int fd, const void *map) {
    struct stat st;
    t_assert(fstat(fd, &st) == 0);
    return st.st_ino == map_inode(map);
}

static const char *k_seen(int cond) {
    if (!cond)
        k_failures++;
    return cond ? "seen" : "MISSING";
}

static void put(char *map, size_t off, const char *s) {
    memcpy(map + off, s, strlen(s) + 1);
}

static void child(int go, int done) {
    char c;
    k_read_full(go, &c, 1);
    for (int i = 0; i < NREG; i++) {
        char *m = *regions[i].map;
        t_printf("child: %s parent's writes: before point %s, after point %s, tail %s",
                 regions[i].name, k_seen(has(m, 0, "parent before point")),
                 k_seen(has(m, 500, "parent after point")),
                 k_ok(k_check(m + 8192, 4096, 40 + (unsigned)i) == 4096));
        char msg[64];
        snprintf(msg, sizeof msg, "child wrote %s via map", regions[i].name);
        put(m, 1000, msg);
        if (regions[i].fd) {
            snprintf(msg, sizeof msg, "child wrote %s via fd", regions[i].name);
            t_assert(pwrite(*regions[i].fd, msg, strlen(msg) + 1, 2000) ==
                     (ssize_t)strlen(msg) + 1);
        }
    }
    k_write_all(done, "d", 1);
    k_child_exit();
}

int main(void) {
    char name[64];
    snprintf(name, sizeof name, "/crest-kobj-shm-%d", (int)getpid());
    shm_unlink(name);
    shm_fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    t_assert(shm_fd >= 0);
    t_assert(ftruncate(shm_fd, SHM_LEN) == 0);
    shm = mmap(NULL, SHM_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
    mfd = memfd_create("crest-kobj", MFD_CLOEXEC);
    t_assert(mfd >= 0);
    t_assert(ftruncate(mfd, MFD_LEN) == 0);
    mfdmap = mmap(NULL, MFD_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    anon = mmap(NULL, ANON_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    t_assert(shm != MAP_FAILED && mfdmap != MAP_FAILED && anon != MAP_FAILED);

    for (int i = 0; i < NREG; i++) {
        put(*regions[i].map, 0, "parent before point");
        k_fill(*regions[i].map + 8192, 4096, 40 + (unsigned)i);
    }

    int go[2], done[2];
    t_assert(pipe(go) == 0 && pipe(done) == 0);
    pid_t pid = fork();
    t_assert(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        close(done[0]);
        child(go[0], done[1]);
    }
    close(go[0]);
    close(done[1]);

    t_checkpoint_point(1);

    struct stat st;
    t_assert(fstat(shm_fd, &st) == 0);
    t_printf("after: shm size %lld", (long long)st.st_size);
    K_EXPECT(st.st_size == SHM_LEN);
    t_assert(fstat(mfd, &st) == 0);
    t_printf("after: memfd size %lld, cloexec %d", (long long)st.st_size, k_cloexec(mfd));
    K_EXPECT(st.st_size == MFD_LEN && k_cloexec(mfd));
    t_printf("after: shm fd and its mapping are one file: %s", k_yes(same_file(shm_fd, shm)));
    t_printf("after: memfd fd and its mapping are one file: %s",
             k_yes(same_file(mfd, mfdmap)));
    for (int i = 0; i < NREG; i++) {
        char *m = *regions[i].map;
        t_printf("after: %s before-point data %s, tail %s", regions[i].name,
                 k_ok(has(m, 0, "parent before point")),
                 k_ok(k_check(m + 8192, 4096, 40 + (unsigned)i) == 4096));
        if (regions[i].fd)
            t_printf("after: %s fd reads the mapping's data: %s", regions[i].name,
                     k_yes(fd_has(*regions[i].fd, 0, "parent before point")));
        put(m, 500, "parent after point");
    }

    k_write_all(go[1], "g", 1);
    char c;
    k_read_full(done[0], &c, 1);
    for (int i = 0; i < NREG; i++) {
        char *m = *regions[i].map;
        char msg[64];
        snprintf(msg, sizeof msg, "child wrote %s via map", regions[i].name);
        t_printf("parent: %s child's map write: in my map %s", regions[i].name,
                 k_seen(has(m, 1000, msg)));
        if (regions[i].fd) {
            t_printf("parent: %s child's map write: through the fd %s", regions[i].name,
                     k_seen(fd_has(*regions[i].fd, 1000, msg)));
            snprintf(msg, sizeof msg, "child wrote %s via fd", regions[i].name);
            t_printf("parent: %s child's fd write: in my map %s", regions[i].name,
                     k_seen(has(m, 2000, msg)));
        }
    }
    int wst;
    t_assert(waitpid(pid, &wst, 0) == pid);
    t_printf("child %s", k_status(wst));
    K_EXPECT(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
    t_assert(shm_unlink(name) == 0);
    k_finish();
}
