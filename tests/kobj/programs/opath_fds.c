/* O_PATH descriptors across checkpoint/restart: one on a regular file (and one
 * with O_CLOEXEC), one on a directory, one that followed a symlink to the file,
 * and O_PATH|O_NOFOLLOW ones on a symlink and on a dangling symlink. After the
 * restart each must still be an O_PATH descriptor (F_GETFL) of the same object
 * (same inode and type: the symlinks themselves, not what they point to), with
 * its close-on-exec flag; the directory one must work as a dirfd, the symlink
 * ones must read their targets with readlinkat(fd, ""), and the file one must
 * still refuse read() (EBADF) while a reopen through /proc/self/fd reads the
 * file. */
#include "kobj.h"

#include <sys/stat.h>

struct opath {
    const char *name;
    const char *path;   /* what it was opened on, in the cwd */
    int flags;          /* extra open flags */
    int fd;
    ino_t ino;
    mode_t type;
    const char *link;   /* a symlink's target, or NULL */
};

static struct opath fds[] = {
    {"file", "opath_file", 0, -1, 0, 0, NULL},
    {"file_cloexec", "opath_file", O_CLOEXEC, -1, 0, 0, NULL},
    {"dir", "opath_dir", O_DIRECTORY, -1, 0, 0, NULL},
    {"followed", "opath_link", 0, -1, 0, 0, NULL},
    {"symlink", "opath_link", O_NOFOLLOW, -1, 0, 0, "opath_file"},
    {"dangling", "opath_dangling", O_NOFOLLOW, -1, 0, 0, "nowhere"},
};
#define N (sizeof fds / sizeof fds[0])

static const char *type_name(mode_t t) {
    return S_ISREG(t) ? "file" : S_ISDIR(t) ? "directory" : S_ISLNK(t) ? "symlink" : "other";
}

static void show(const char *when) {
    for (size_t i = 0; i < N; ++i) {
        struct opath *o = &fds[i];
        int fl = fcntl(o->fd, F_GETFL);
        struct stat st;
        int stat_ok = fstat(o->fd, &st) == 0;
        t_printf("%s: %s: O_PATH %s, O_NOFOLLOW %d, cloexec %d, %s, same inode %s", when, o->name,
                 k_yes(fl >= 0 && (fl & O_PATH)), fl >= 0 && (fl & O_NOFOLLOW) ? 1 : 0, k_cloexec(o->fd),
                 stat_ok ? type_name(st.st_mode) : "fstat failed",
                 k_yes(stat_ok && st.st_ino == o->ino && (st.st_mode & S_IFMT) == o->type));
        K_EXPECT(((fl & O_NOFOLLOW) != 0) == ((o->flags & O_NOFOLLOW) != 0));
        K_EXPECT(k_cloexec(o->fd) == ((o->flags & O_CLOEXEC) != 0));
        if (o->link) {
            char buf[64] = {0};
            ssize_t n = readlinkat(o->fd, "", buf, sizeof buf - 1);
            t_printf("%s: %s: readlinkat -> %s", when, o->name, n >= 0 ? buf : k_errname(errno));
            K_EXPECT(n >= 0 && strcmp(buf, o->link) == 0);
        }
    }
    /* The directory works as a dirfd. */
    struct stat inner;
    int inner_ok = fstatat(fds[2].fd, "inner", &inner, 0) == 0;
    t_printf("%s: fstatat(dir, \"inner\"): %s", when, k_ok(inner_ok && S_ISREG(inner.st_mode)));
    /* An O_PATH fd does no I/O; a reopen through /proc/self/fd does. */
    char c;
    errno = 0;
    ssize_t n = read(fds[0].fd, &c, 1);
    t_printf("%s: read on the O_PATH file: %s", when, n < 0 ? k_errname(errno) : "succeeded");
    K_EXPECT(n < 0 && errno == EBADF);
    char proc[64], text[32] = {0};
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fds[0].fd);
    int rd = open(proc, O_RDONLY);
    t_assert(rd >= 0);
    t_assert(read(rd, text, sizeof text - 1) > 0);
    close(rd);
    t_printf("%s: reopened through /proc/self/fd: %s", when, text);
    K_EXPECT(strcmp(text, "contents\n") == 0);
}

int main(void) {
    int f = open("opath_file", O_RDWR | O_CREAT | O_TRUNC, 0640);
    t_assert(f >= 0);
    k_write_all(f, "contents\n", 9);
    close(f);
    t_assert(mkdir("opath_dir", 0750) == 0 || errno == EEXIST);
    f = open("opath_dir/inner", O_RDWR | O_CREAT | O_TRUNC, 0600);
    t_assert(f >= 0);
    close(f);
    unlink("opath_link");
    unlink("opath_dangling");
    t_assert(symlink("opath_file", "opath_link") == 0);
    t_assert(symlink("nowhere", "opath_dangling") == 0);
    for (size_t i = 0; i < N; ++i) {
        struct opath *o = &fds[i];
        o->fd = open(o->path, O_PATH | o->flags);
        t_assert(o->fd >= 0);
        struct stat st;
        t_assert(((o->flags & O_NOFOLLOW) ? lstat(o->path, &st) : stat(o->path, &st)) == 0);
        o->ino = st.st_ino;
        o->type = st.st_mode & S_IFMT;
    }
    show("before");

    t_checkpoint_point(1);

    show("after");
    k_finish();
}
