/* An inotify watch on /usr/share: far from the process's cwd and open files, so an
 * ordinary user's checkpoint cannot find its path (check_inotify_refused.py). Prints
 * the fd, then waits at its point. */
#include "kobj.h"

#include <sys/inotify.h>

int main(void) {
    int in = inotify_init1(IN_CLOEXEC);
    t_assert(in >= 0);
    int wd = inotify_add_watch(in, "/usr/share", IN_CREATE);
    t_assert(wd >= 0);
    t_printf("fd %d wd %d", in, wd);
    t_checkpoint_point(1);
    close(in);
    k_finish();
}
