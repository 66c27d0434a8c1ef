/* Memory contents survive checkpoint/restart: heap, stack, globals,
 * anonymous private/shared mappings, read-only and PROT_NONE pages. */
#define _GNU_SOURCE
#include "crtest.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define KiB 1024UL
#define MiB (1024UL * 1024UL)

static uint64_t g_data[4096] = {0x0123456789abcdefULL, 1, 2, 3};
static unsigned char g_bss[300 * KiB];

static void fill(void *p, size_t len, uint64_t seed) {
    unsigned char *b = p;
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (unsigned char)(x >> 24);
    }
}

static uint64_t fnv(const void *p, size_t len) {
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int all_zero(const void *p, size_t len) {
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Permission string of the mapping containing addr, from /proc/self/maps. */
static void map_perms(const void *addr, char out[5]) {
    char buf[65536];
    int fd = open("/proc/self/maps", O_RDONLY);
    t_assert(fd >= 0);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    strcpy(out, "none");
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3)
            continue;
        if ((uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
            memcpy(out, perms, 5);
            return;
        }
    }
}

struct region {
    const char *name;
    void *p;
    size_t len;
    uint64_t sum;
};

int main(void) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char stack_buf[64 * KiB];
    static const size_t heap_sizes[] = {24, 4000, 200 * KiB, 3 * MiB};
    struct region r[16];
    int nr = 0;

    for (size_t i = 0; i < sizeof heap_sizes / sizeof heap_sizes[0]; i++) {
        void *p = malloc(heap_sizes[i]);
        t_assert(p != NULL);
        r[nr++] = (struct region){"heap", p, heap_sizes[i], 0};
    }
    r[nr++] = (struct region){"stack", stack_buf, sizeof stack_buf, 0};
    for (size_t i = 4; i < 4096; i += 7)
        g_data[i] = i * 0x10001ULL;
    r[nr++] = (struct region){"data", g_data, sizeof g_data, 0};
    r[nr++] = (struct region){"bss", g_bss, sizeof g_bss, 0};

    size_t priv_len = 2 * MiB;
    unsigned char *priv = mmap(NULL, priv_len, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    t_assert(priv != MAP_FAILED);
    /* Touch only the first half; the rest must stay zero. */
    r[nr++] = (struct region){"anon-private", priv, priv_len / 2, 0};

    size_t shared_len = 256 * KiB;
    unsigned char *shared = mmap(NULL, shared_len, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    t_assert(shared != MAP_FAILED);
    r[nr++] = (struct region){"anon-shared", shared, shared_len, 0};

    unsigned char *ro = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    t_assert(ro != MAP_FAILED);
    r[nr++] = (struct region){"readonly", ro, page, 0};
    unsigned char *guard = ro + page;   /* PROT_NONE */
    unsigned char *after = ro + 2 * page;
    r[nr++] = (struct region){"after-guard", after, page, 0};

    for (int i = 0; i < nr; i++)
        if (r[i].p != (void *)g_data)
            fill(r[i].p, r[i].len, (uint64_t)i + 1);
    t_assert(mprotect(ro, page, PROT_READ) == 0);
    t_assert(mprotect(guard, page, PROT_NONE) == 0);

    for (int i = 0; i < nr; i++) {
        r[i].sum = fnv(r[i].p, r[i].len);
        t_printf("before %-12s len=%-8zu sum=%016llx", r[i].name, r[i].len,
                 (unsigned long long)r[i].sum);
    }
    t_assert(all_zero(priv + priv_len / 2, priv_len / 2));
    void *brk_before = sbrk(0);
    pid_t pid_before = getpid();

    t_checkpoint_point(1);

    for (int i = 0; i < nr; i++) {
        uint64_t s = fnv(r[i].p, r[i].len);
        t_printf("after  %-12s len=%-8zu sum=%016llx %s", r[i].name, r[i].len,
                 (unsigned long long)s, s == r[i].sum ? "ok" : "MISMATCH");
        t_assert(s == r[i].sum);
    }
    t_printf("untouched anon zero: %d", all_zero(priv + priv_len / 2, priv_len / 2));
    t_printf("brk same: %d", sbrk(0) == brk_before);
    t_printf("pid same: %d", getpid() == pid_before);

    char perms[5];
    map_perms(ro, perms);
    t_printf("readonly perms %s", perms);
    map_perms(guard, perms);
    t_printf("guard perms %s", perms);
    map_perms(shared, perms);
    t_printf("shared perms %s", perms);
    map_perms(priv, perms);
    t_printf("private perms %s", perms);

    /* Memory stays usable: rewrite, allocate, free. */
    fill(shared, shared_len, 99);
    fill(stack_buf, sizeof stack_buf, 98);
    fill(priv + priv_len / 2, priv_len / 2, 97);
    t_printf("rewrite sums %016llx %016llx %016llx",
             (unsigned long long)fnv(shared, shared_len),
             (unsigned long long)fnv(stack_buf, sizeof stack_buf),
             (unsigned long long)fnv(priv + priv_len / 2, priv_len / 2));
    void *small = malloc(1000), *big = malloc(2 * MiB);
    t_assert(small != NULL && big != NULL);
    fill(small, 1000, 5);
    fill(big, 2 * MiB, 6);
    t_printf("new alloc sums %016llx %016llx",
             (unsigned long long)fnv(small, 1000),
             (unsigned long long)fnv(big, 2 * MiB));
    free(small);
    free(big);
    for (int i = 0; i < 4; i++)
        free(r[i].p);
    t_assert(munmap(priv, priv_len) == 0);
    t_assert(munmap(shared, shared_len) == 0);
    t_assert(munmap(ro, 3 * page) == 0);
    t_pass();
}
