/* memfds across checkpoint/restart: their names, seals, contents and sharing.
 *   sealed:  MFD_ALLOW_SEALING, 4 KiB of data, then F_SEAL_WRITE|SHRINK|GROW|SEAL;
 *   plain:   made without MFD_ALLOW_SEALING (F_GET_SEALS reports F_SEAL_SEAL);
 *   noexec:  MFD_NOEXEC_SEAL (F_SEAL_EXEC, mode 0666);
 *   mapped:  MFD_ALLOW_SEALING, mapped MAP_SHARED and written through the mapping,
 *            then F_SEAL_SHRINK|F_SEAL_GROW (allowed with a writable mapping).
 * After the restart: the names (readlink of /proc/self/fd/N is
 * "/memfd:NAME (deleted)"), the seals, writes and size changes the seals forbid
 * refused with EPERM, the contents, and the mapping, the fd and a reopen of it (its own
 * open file description, read-only) still one file. */
#include "kobj.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

#define SIZE 4096

static void check_name(const char *what, int fd, const char *name) {
    char link[64], got[256] = "", want[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, got, sizeof got - 1);
    if (n > 0)
        got[n] = '\0';
    snprintf(want, sizeof want, "/memfd:%s (deleted)", name);
    t_printf("%s: fd %d names %s: %s", what, fd, got, k_ok(strcmp(got, want) == 0));
}

static void check_seals(const char *what, int fd, int want) {
    int seals = fcntl(fd, F_GET_SEALS);
    t_printf("%s: seals %#x (want %#x): %s", what, seals, want, k_ok(seals == want));
}

static void check_contents(const char *what, int fd, size_t len, unsigned seed) {
    static uint8_t buf[SIZE];
    struct stat st;
    t_assert(fstat(fd, &st) == 0);
    ssize_t n = pread(fd, buf, len, 0);
    t_printf("%s: size %lld, %zd bytes read, first difference at %zu: %s", what, (long long)st.st_size, n,
             n > 0 ? k_check(buf, (size_t)n, seed) : 0, k_ok(st.st_size == (off_t)len && n == (ssize_t)len && k_check(buf, len, seed) == len));
}

static void check_refused(const char *what, int r, int want_errno) {
    int err = errno;
    t_printf("%s: %s: %s", what, r < 0 ? k_errname(err) : "accepted", k_ok(r < 0 && err == want_errno));
}

int main(void) {
    static uint8_t buf[SIZE];
    const int sealed_seals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
    int sealed = memfd_create("crest-sealed", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    int plain = memfd_create("crest plain", 0);
    int noexec = memfd_create("crest-noexec", MFD_NOEXEC_SEAL);
    int mapped = memfd_create("crest-mapped", MFD_ALLOW_SEALING);
    t_assert(sealed >= 0 && plain >= 0 && noexec >= 0 && mapped >= 0);
    k_fill(buf, SIZE, 1);
    k_write_all(sealed, buf, SIZE);
    t_assert(fcntl(sealed, F_ADD_SEALS, sealed_seals) == 0);
    k_fill(buf, 1000, 2);
    k_write_all(plain, buf, 1000);
    k_fill(buf, 100, 3);
    k_write_all(noexec, buf, 100);
    t_assert(ftruncate(mapped, SIZE) == 0);
    uint8_t *map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mapped, 0);
    t_assert(map != MAP_FAILED);
    k_fill(map, SIZE, 4);
    t_assert(fcntl(mapped, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
    char self_link[64];
    snprintf(self_link, sizeof self_link, "/proc/self/fd/%d", mapped);
    int reopened = open(self_link, O_RDONLY); /* its own open file description */
    t_assert(reopened >= 0);
    int noexec_seals = fcntl(noexec, F_GET_SEALS);
    t_printf("before: noexec seals %#x", noexec_seals);
    K_EXPECT(noexec_seals & F_SEAL_EXEC);

    t_checkpoint_point(1);

    check_name("sealed", sealed, "crest-sealed");
    check_name("plain", plain, "crest plain");
    check_name("noexec", noexec, "crest-noexec");
    check_name("mapped", mapped, "crest-mapped");
    check_seals("sealed", sealed, sealed_seals);
    check_seals("plain", plain, F_SEAL_SEAL);
    check_seals("noexec", noexec, noexec_seals);
    check_seals("mapped", mapped, F_SEAL_SHRINK | F_SEAL_GROW);
    check_contents("sealed", sealed, SIZE, 1);
    check_contents("plain", plain, 1000, 2);
    check_contents("noexec", noexec, 100, 3);
    check_contents("mapped", mapped, SIZE, 4);
    struct stat st;
    t_assert(fstat(noexec, &st) == 0);
    t_printf("noexec: mode %o: %s", st.st_mode & 07777, k_ok((st.st_mode & 07777) == 0666));
    t_printf("cloexec: sealed %d plain %d: %s", k_cloexec(sealed), k_cloexec(plain), k_ok(k_cloexec(sealed) && !k_cloexec(plain)));

    /* What the seals forbid. */
    check_refused("sealed: pwrite", (int)pwrite(sealed, "x", 1, 0), EPERM);
    check_refused("sealed: ftruncate smaller", ftruncate(sealed, 10), EPERM);
    check_refused("sealed: ftruncate larger", ftruncate(sealed, 2 * SIZE), EPERM);
    check_refused("sealed: writable shared mmap",
                  mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, sealed, 0) == MAP_FAILED ? -1 : 0, EPERM);
    check_refused("sealed: F_ADD_SEALS", fcntl(sealed, F_ADD_SEALS, F_SEAL_EXEC), EPERM);
    check_refused("plain: F_ADD_SEALS", fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
    check_refused("mapped: ftruncate larger", ftruncate(mapped, 2 * SIZE), EPERM);
    check_refused("noexec: fchmod +x", fchmod(noexec, 0777), EPERM);

    /* What they allow: the plain memfd grows, the mapped one is still the mapping's file. */
    t_printf("plain: ftruncate larger: %s", k_ok(ftruncate(plain, 2000) == 0));
    map[7] = 0x5a;
    uint8_t b = 0;
    t_printf("mapped: a store in the mapping is read from the fd: %s", k_ok(pread(mapped, &b, 1, 7) == 1 && b == 0x5a));
    t_assert(pwrite(mapped, "Q", 1, 9) == 1);
    t_printf("mapped: a write to the fd is seen in the mapping: %s", k_ok(map[9] == 'Q'));
    t_printf("mapped: a reopen of it is the same file: %s", k_ok(pread(reopened, &b, 1, 9) == 1 && b == 'Q'));
    check_seals("mapped, reopened", reopened, F_SEAL_SHRINK | F_SEAL_GROW);
    k_finish();
}
