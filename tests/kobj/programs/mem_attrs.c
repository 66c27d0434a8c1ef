/* Memory area attributes across checkpoint/restart: each area below has one attribute,
 * checked after the point in /proc/self/smaps VmFlags and by its behaviour:
 *   locked (mlock: "lo"), locked on fault (mlock2 MLOCK_ONFAULT: "lo lf"),
 *   MADV_DONTDUMP "dd", MADV_DONTFORK "dc" (absent in a forked child),
 *   MADV_WIPEONFORK "wf" (reads zero in a forked child), MADV_HUGEPAGE "hg",
 *   MADV_NOHUGEPAGE "nh", MADV_MERGEABLE "mg", MADV_RANDOM "rr", MADV_SEQUENTIAL "sr".
 * Every area keeps its bytes. (Guard pages are refused by name: unsupported_hold guard.) */
#include "kobj.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define PAGES 4
static long page;

struct area {
    const char *name;
    const char *flags;  /* the VmFlags codes it must have */
    char *addr;
    int advice;         /* madvise advice, or -1 */
};

static struct area areas[] = {
    {"mlock", "lo", NULL, -1},
    {"mlock-onfault", "lo lf", NULL, -1},
    {"dontdump", "dd", NULL, MADV_DONTDUMP},
    {"dontfork", "dc", NULL, MADV_DONTFORK},
    {"wipeonfork", "wf", NULL, MADV_WIPEONFORK},
    {"hugepage", "hg", NULL, MADV_HUGEPAGE},
    {"nohugepage", "nh", NULL, MADV_NOHUGEPAGE},
    {"mergeable", "mg", NULL, MADV_MERGEABLE},
    {"random", "rr", NULL, MADV_RANDOM},
    {"sequential", "sr", NULL, MADV_SEQUENTIAL},
};
#define NAREAS (sizeof areas / sizeof areas[0])

/* The VmFlags line of the area starting at addr, in buf. */
static int vmflags_of(char *addr, char *buf, size_t cap) {
    FILE *f = fopen("/proc/self/smaps", "re");
    t_assert(f != NULL);
    char line[512];
    int in = 0, found = 0;
    unsigned long want = (unsigned long)addr;
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = s == want;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(buf, cap, "%s", line + 8);
            buf[strcspn(buf, "\n")] = 0;
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

static int has_code(const char *flags, const char *code) {
    char pad[600];
    snprintf(pad, sizeof pad, " %s ", flags);
    char c[8];
    snprintf(c, sizeof c, " %.2s ", code);
    return strstr(pad, c) != NULL;
}

static void check_flags(const char *when) {
    for (size_t i = 0; i < NAREAS; i++) {
        char flags[512] = "";
        K_EXPECT(vmflags_of(areas[i].addr, flags, sizeof flags));
        int ok = 1;
        for (const char *c = areas[i].flags; *c; c += c[2] ? 3 : 2)
            ok &= has_code(flags, c);
        if (i != 0 && i != 1)  /* only the mlock areas are locked */
            ok &= !has_code(flags, "lo");
        if (i == 0)
            ok &= !has_code(flags, "lf");
        t_printf("%s: %s area has [%s]: %s", when, areas[i].name, areas[i].flags, k_ok(ok));
    }
}

static void check_fork(const char *when) {
    char *wf = areas[4].addr, *dc = areas[3].addr;
    pid_t child = fork();
    t_assert(child >= 0);
    if (child == 0) {
        int zero = 1;
        for (long i = 0; i < PAGES * page; i++)
            zero &= wf[i] == 0;
        unsigned char vec[PAGES];
        int dc_mapped = mincore(dc, PAGES * page, vec) == 0;
        _exit((zero ? 0 : 1) | (dc_mapped ? 2 : 0));
    }
    int st;
    t_assert(waitpid(child, &st, 0) == child && WIFEXITED(st));
    t_printf("%s: child sees wipeonfork area zeroed: %s, dontfork area absent: %s", when,
             k_yes(!(WEXITSTATUS(st) & 1)), k_yes(!(WEXITSTATUS(st) & 2)));
    t_printf("%s: parent keeps wipeonfork bytes: %s", when, k_ok(k_check(wf, PAGES * page, 4) == (size_t)(PAGES * page)));
}

static void check_bytes(const char *when) {
    int ok = 1;
    for (size_t i = 0; i < NAREAS; i++)
        ok &= k_check(areas[i].addr, PAGES * page, (unsigned)i) == (size_t)(PAGES * page);
    t_printf("%s: every area keeps its bytes: %s", when, k_ok(ok));
}

int main(void) {
    page = sysconf(_SC_PAGESIZE);
    /* One mapping with a PROT_NONE page between areas, so none merge with another. */
    char *base = mmap(NULL, NAREAS * (PAGES + 1) * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    t_assert(base != MAP_FAILED);
    for (size_t i = 0; i < NAREAS; i++) {
        char *a = base + i * (PAGES + 1) * page + page;
        t_assert(mprotect(a, PAGES * page, PROT_READ | PROT_WRITE) == 0);
        areas[i].addr = a;
        if (areas[i].advice >= 0 && madvise(a, PAGES * page, areas[i].advice) != 0) {
            t_printf("madvise(%s): %s", areas[i].name, k_errname(errno));
            k_failures++;
        }
        k_fill(a, PAGES * page, (unsigned)i);
    }
    int r = mlock(areas[0].addr, PAGES * page);
    if (r) t_printf("mlock: %s", k_errname(errno));
    K_EXPECT(r == 0);
    r = (int)syscall(SYS_mlock2, areas[1].addr, PAGES * page, MLOCK_ONFAULT);
    if (r) t_printf("mlock2: %s", k_errname(errno));
    K_EXPECT(r == 0);

    check_flags("before");
    check_fork("before");

    t_checkpoint_point(1);

    check_flags("after");
    check_fork("after");
    check_bytes("after");
    k_finish();
}
