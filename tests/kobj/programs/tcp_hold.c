/* Subject of check_tcp_refused.py: holds a listening TCP socket on
 * 127.0.0.1:<ephemeral> at fd 7 ("self"), or has a child forked before the
 * point hold it at fd 9 ("child"), with a connection to it not yet accepted
 * (the client end at fd 27 or 29): crest refuses that listener by name. Appends "HOLDER <pid> <fd>" to
 * $CRTEST_CONTROL, then waits at checkpoint point 1. After the point the
 * holder connects to its own listener and exchanges a message, to show the
 * socket (and the process) were left working. */
#include "kobj.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

static int listen_tcp(int at) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    t_assert(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    t_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    t_assert(listen(fd, 4) == 0);
    t_assert(dup2(fd, at) == at);
    t_assert(close(fd) == 0);
    /* A connection the listener has not accepted. */
    struct sockaddr_in self;
    socklen_t sl = sizeof self;
    t_assert(getsockname(at, (struct sockaddr *)&self, &sl) == 0);
    int pending = socket(AF_INET, SOCK_STREAM, 0);
    t_assert(pending >= 0);
    t_assert(connect(pending, (struct sockaddr *)&self, sizeof self) == 0);
    t_assert(dup2(pending, at + 20) == at + 20);
    t_assert(close(pending) == 0);
    char line[64];
    snprintf(line, sizeof line, "HOLDER %d %d", (int)getpid(), at);
    t_mark(line);
    return at;
}

static void exercise(int lfd, const char *who) {
    int early = accept(lfd, NULL, NULL);   /* the connection made before the point */
    t_assert(early >= 0);
    close(early);
    close(lfd + 20);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    t_assert(getsockname(lfd, (struct sockaddr *)&a, &al) == 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    t_assert(c >= 0);
    t_assert(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    int s = accept(lfd, NULL, NULL);
    t_assert(s >= 0);
    k_write_all(c, "ping", 4);
    char buf[8] = {0};
    k_read_full(s, buf, 4);
    t_printf("%s: tcp listener still works: %s", who, k_yes(strcmp(buf, "ping") == 0));
    close(s);
    close(c);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "self";
    if (strcmp(mode, "self") == 0) {
        int lfd = listen_tcp(7);
        t_checkpoint_point(1);
        exercise(lfd, "self");
        k_finish();
    }
    t_assert(strcmp(mode, "child") == 0);
    int go[2];
    t_assert(pipe(go) == 0);
    pid_t pid = fork();
    t_assert(pid >= 0);
    if (pid == 0) {
        close(go[1]);
        int lfd = listen_tcp(9);
        char c;
        ssize_t n;
        /* A plain blocking read: check_tcp_refused.py looks for it. */
        while ((n = read(go[0], &c, 1)) < 0 && errno == EINTR)
            ;
        t_assert(n == 1);
        exercise(lfd, "child");
        k_child_exit();
    }
    close(go[0]);
    t_checkpoint_point(1);
    k_write_all(go[1], "g", 1);
    int st;
    t_assert(waitpid(pid, &st, 0) == pid);
    t_printf("child %s", k_status(st));
    K_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    k_finish();
}
