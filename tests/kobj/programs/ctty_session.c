/* A session with a controlling terminal and a foreground process group (attrs/
 * controlling_tty.cc): the child S makes a session, takes a pty slave as its controlling
 * terminal (the master stays in the parent) and puts its own child G, in a group of its
 * own, in the foreground. Before and after the point S reports: still a session leader,
 * its controlling terminal is that slave (/proc/self/stat tty_nr), and tcgetpgrp() is G's
 * group, and a byte written to its /dev/tty fd comes out of the master. Run with cr_restart
 * --restore-sid --restore-pgid. */
#include "kobj.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>

struct report { int session_leader, ctty_is_slave, foreground_is_g, g; };

static unsigned long tty_nr_of_self(void) {
    char buf[1024];
    int fd = open("/proc/self/stat", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    char state;
    int ppid, pgrp, sid;
    unsigned long tty = 0;
    if (!p || sscanf(p + 2, "%c %d %d %d %lu", &state, &ppid, &pgrp, &sid, &tty) != 5) return 0;
    return tty;
}

static void session_leader(int master, int cmd, int rep) {
    t_assert(setsid() == getpid());
    int slave = open(ptsname(master), O_RDWR);  /* no O_NOCTTY: our controlling terminal */
    t_assert(slave >= 0);
    pid_t g = fork();
    t_assert(g >= 0);
    if (g == 0) {
        setpgid(0, 0);
        for (;;) pause();
    }
    setpgid(g, g);
    t_assert(tcsetpgrp(slave, g) == 0);
    struct stat st;
    int dev_tty = open("/dev/tty", O_WRONLY);  /* follows the controlling terminal */
    t_assert(dev_tty >= 0);
    char c;
    while (read(cmd, &c, 1) == 1 && c == 'c') {
        unsigned long nr = tty_nr_of_self();
        t_assert(fstat(slave, &st) == 0);  /* (the pty's number may change at a restart) */
        struct report r = {getsid(0) == getpid(),
                           nr != 0 && makedev((nr >> 8) & 0xfff, (nr & 0xff) | ((nr >> 12) & 0xfff00)) == st.st_rdev,
                           tcgetpgrp(slave) == g, g};
        k_write_all(dev_tty, "T", 1);
        k_write_all(rep, &r, sizeof r);
    }
    kill(g, SIGKILL);
    waitpid(g, NULL, 0);
    _exit(0);
}

static void ask(const char *when, int cmd, int rep, int master) {
    struct report r;
    k_write_all(cmd, "c", 1);
    k_read_full(rep, &r, sizeof r);
    char c = 0;
    k_wait_in(master);
    t_assert(read(master, &c, 1) == 1);
    t_printf("%s: /dev/tty wrote to the pty %s", when, k_yes(c == 'T'));
    t_printf("%s: session leader %s, controlling terminal is the slave %s, foreground group is G's %s", when,
             k_yes(r.session_leader), k_yes(r.ctty_is_slave), k_yes(r.foreground_is_g));
}

int main(void) {
    setpgid(0, 0);  /* a group of the job's own, made again by --restore-pgid */
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    t_assert(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
    int cmd[2], rep[2];
    t_assert(pipe(cmd) == 0 && pipe(rep) == 0);
    pid_t s = fork();
    t_assert(s >= 0);
    if (s == 0) {
        close(cmd[1]);
        close(rep[0]);
        session_leader(master, cmd[0], rep[1]);
    }
    close(cmd[0]);
    close(rep[1]);
    ask("before", cmd[1], rep[0], master);

    t_checkpoint_point(1);

    ask("after", cmd[1], rep[0], master);
    k_write_all(cmd[1], "q", 1);
    int st = 0;
    t_assert(waitpid(s, &st, 0) == s);
    K_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    k_finish();
}
