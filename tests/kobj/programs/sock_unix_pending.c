/* Connections a listener has not accepted yet, both ends in the job, at the point:
 *  - listener D/l.sock (D a scratch directory) with a connection from child C, which
 *    then waits for the server's greeting;
 *  - listener on an abstract name with a connection from the process itself.
 * After: each listener has exactly one connection to accept (then EAGAIN); the accepted
 * ends carry data both ways with C and with the process's own client. */
#include "kobj.h"

#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>

static struct sockaddr_un addr_path, addr_abs;
static socklen_t len_abs;

static int listener(struct sockaddr_un *a, socklen_t len) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    t_assert(fd >= 0);
    t_assert(bind(fd, (struct sockaddr *)a, len) == 0);
    t_assert(listen(fd, 4) == 0);
    return fd;
}

static int client(struct sockaddr_un *a, socklen_t len) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    t_assert(fd >= 0);
    t_assert(connect(fd, (struct sockaddr *)a, len) == 0);
    return fd;
}

/* Accepts one connection (waiting), and says whether a second one waits too. */
static int accept_one(const char *who, int l) {
    k_wait_in(l);
    int s = accept(l, NULL, NULL);
    t_assert(s >= 0);
    int fl = fcntl(l, F_GETFL);
    t_assert(fcntl(l, F_SETFL, fl | O_NONBLOCK) == 0);
    int more = accept(l, NULL, NULL);
    int err = errno;
    t_printf("%s: one connection accepted, then %s", who, more >= 0 ? "another" : k_errname(err));
    K_EXPECT(more < 0 && err == EAGAIN);
    return s;
}

int main(void) {
    char dir[] = "/tmp/crest-kobj-pending-XXXXXX";
    t_assert(mkdtemp(dir) != NULL);
    addr_path.sun_family = AF_UNIX;
    snprintf(addr_path.sun_path, sizeof addr_path.sun_path, "%s/l.sock", dir);
    addr_abs.sun_family = AF_UNIX;
    int n = snprintf(addr_abs.sun_path + 1, sizeof addr_abs.sun_path - 1, "crest-kobj-pending-%d", (int)getpid());
    len_abs = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);

    int lp = listener(&addr_path, sizeof addr_path);
    int la = listener(&addr_abs, len_abs);
    int ready[2];
    t_assert(pipe(ready) == 0);
    pid_t c = fork();
    t_assert(c >= 0);
    if (c == 0) {
        close(ready[0]);
        int fd = client(&addr_path, sizeof addr_path);
        t_assert(write(ready[1], "r", 1) == 1);
        char buf[16] = {0};
        k_read_full(fd, buf, 5);
        K_EXPECT(memcmp(buf, "hello", 5) == 0);
        k_write_all(fd, "child", 5);
        k_child_exit();
    }
    close(ready[1]);
    char r;
    k_read_full(ready[0], &r, 1);
    int own = client(&addr_abs, len_abs);

    t_checkpoint_point(1);

    int sp = accept_one("path listener", lp);
    k_write_all(sp, "hello", 5);
    char buf[16] = {0};
    k_read_full(sp, buf, 5);
    t_printf("path listener: child answers %s", k_ok(memcmp(buf, "child", 5) == 0));
    int st;
    t_assert(waitpid(-1, &st, 0) > 0); /* (the child's pid may have changed: --no-restore-pid) */
    t_printf("child: %s", k_status(st));
    K_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    int sa = accept_one("abstract listener", la);
    k_write_all(own, "ping", 4);
    k_read_full(sa, buf, 4);
    k_write_all(sa, "pong", 4);
    t_printf("abstract listener: ping %s", k_ok(memcmp(buf, "ping", 4) == 0));
    k_read_full(own, buf, 4);
    t_printf("own client: pong %s", k_ok(memcmp(buf, "pong", 4) == 0));

    unlink(addr_path.sun_path);
    rmdir(dir);
    k_finish();
}
