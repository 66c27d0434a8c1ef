/* Unix socket path names whose file is not simply where the name says, at the point
 * (in a scratch directory D made here, the working directory):
 *  - listener "rel.sock" bound relative to D/sub (the process went back to D since);
 *  - listener "D/gone/x.sock" whose file and directory were removed since;
 *  - datagram socket "D/fifo.sock" whose file was replaced by a FIFO;
 *  - listener "D/mode.sock" with the file's mode set to 0604.
 * After: each getsockname() is the name as bound; sub/rel.sock still reaches its listener;
 * gone/ is still missing (connect: ENOENT) and the FIFO still a FIFO (ECONNREFUSED);
 * mode.sock has mode 0604 and reaches its listener. */
#include "kobj.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static char dir[64];

static int bound(int type, const char *name) {
    int fd = socket(AF_UNIX, type, 0);
    t_assert(fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
    t_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    if (type == SOCK_STREAM)
        t_assert(listen(fd, 4) == 0);
    return fd;
}

static const char *name_ok(int fd, const char *want) {
    struct sockaddr_un a;
    socklen_t len = sizeof a;
    t_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    return k_ok(strcmp(a.sun_path, want) == 0);
}

/* Connects a new stream socket to path: "OK" (and accepted by listener), or the error. */
static const char *try_connect(const char *path, int listener, int type) {
    int c = socket(AF_UNIX, type, 0);
    t_assert(c >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    int err = errno;
    if (r == 0 && listener >= 0) {
        k_wait_in(listener);
        int s = accept(listener, NULL, NULL);
        t_assert(s >= 0);
        close(s);
    }
    close(c);
    return r == 0 ? "OK" : k_errname(err);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/crest-kobj-names-XXXXXX");
    t_assert(mkdtemp(dir) != NULL);
    t_assert(chdir(dir) == 0);
    char gone[128], gone_sock[128], fifo[128], mode[128];
    snprintf(gone, sizeof gone, "%s/gone", dir);
    snprintf(gone_sock, sizeof gone_sock, "%s/gone/x.sock", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo.sock", dir);
    snprintf(mode, sizeof mode, "%s/mode.sock", dir);

    t_assert(mkdir("sub", 0700) == 0 && chdir("sub") == 0);
    int rel = bound(SOCK_STREAM, "rel.sock");
    t_assert(chdir(dir) == 0);
    t_assert(mkdir(gone, 0700) == 0);
    int gl = bound(SOCK_STREAM, gone_sock);
    t_assert(unlink(gone_sock) == 0 && rmdir(gone) == 0);
    int fd = bound(SOCK_DGRAM, fifo);
    t_assert(unlink(fifo) == 0 && mkfifo(fifo, 0600) == 0);
    int ml = bound(SOCK_STREAM, mode);
    t_assert(chmod(mode, 0604) == 0);

    t_checkpoint_point(1);

    t_printf("rel.sock: name %s, connect sub/rel.sock: %s", name_ok(rel, "rel.sock"), try_connect("sub/rel.sock", rel, SOCK_STREAM));
    K_EXPECT(access("rel.sock", F_OK) != 0);
    const char *r = try_connect(gone_sock, -1, SOCK_STREAM);
    struct stat st;
    t_printf("gone/x.sock: name %s, connect: %s, directory %s", name_ok(gl, gone_sock), r,
             stat(gone, &st) == 0 ? "exists" : "missing");
    K_EXPECT(strcmp(r, "ENOENT") == 0 && stat(gone, &st) != 0);
    r = try_connect(fifo, -1, SOCK_DGRAM);
    t_assert(lstat(fifo, &st) == 0);
    t_printf("fifo.sock: name %s, connect: %s, still a FIFO %s", name_ok(fd, fifo), r, k_yes(S_ISFIFO(st.st_mode)));
    K_EXPECT(strcmp(r, "ECONNREFUSED") == 0);
    t_assert(lstat(mode, &st) == 0);
    t_printf("mode.sock: name %s, mode %o, socket %s, connect: %s", name_ok(ml, mode), st.st_mode & 07777,
             k_yes(S_ISSOCK(st.st_mode)), try_connect(mode, ml, SOCK_STREAM));
    K_EXPECT((st.st_mode & 07777) == 0604);

    unlink("sub/rel.sock");
    rmdir("sub");
    unlink(fifo);
    unlink(mode);
    t_assert(chdir("/") == 0);
    t_assert(rmdir(dir) == 0);
    k_finish();
}
