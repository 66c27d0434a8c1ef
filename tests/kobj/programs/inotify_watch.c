/* inotify across checkpoint/restart. Instance A (IN_NONBLOCK | IN_CLOEXEC) watched
 * "other" (wd 1, removed again), "watched" (wd 2: IN_CREATE | IN_DELETE) and the file
 * "watched/f" (wd 3: IN_MODIFY); instance B (blocking) watches "watched" (wd 1:
 * IN_DELETE). No event is queued at the point. After it (after restart): the flags are
 * kept; creating, writing and deleting files in "watched" gives the events with the
 * same wds and names; a new watch on "other" gets wd 4, as it would have; removing wd 2
 * gives IN_IGNORED for wd 2. */
#include "kobj.h"

#include <sys/inotify.h>
#include <sys/stat.h>

static char ev_buf[4096] __attribute__((aligned(8)));

/* Waits for and reads one batch of events from fd, prints each; returns how many. */
static int show_events(int fd, const char *what) {
    k_wait_in(fd);
    ssize_t n = read(fd, ev_buf, sizeof ev_buf);
    t_assert(n > 0);
    int count = 0;
    for (char *p = ev_buf; p < ev_buf + n;) {
        struct inotify_event *e = (struct inotify_event *)p;
        t_printf("%s: wd %d mask %#x name '%s'", what, e->wd, e->mask, e->len ? e->name : "");
        p += sizeof *e + e->len;
        count++;
    }
    return count;
}

static void clean(void) {
    unlink("watched/f");
    unlink("watched/new");
    rmdir("watched");
    rmdir("other");
}

int main(void) {
    clean();
    t_assert(mkdir("watched", 0755) == 0 && mkdir("other", 0755) == 0);
    int f = open("watched/f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    t_assert(f >= 0);
    int a = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    int b = inotify_init1(0);
    t_assert(a >= 0 && b >= 0);
    int w_other = inotify_add_watch(a, "other", IN_CREATE);
    int w_dir = inotify_add_watch(a, "watched", IN_CREATE | IN_DELETE);
    int w_file = inotify_add_watch(a, "watched/f", IN_MODIFY);
    int w_b = inotify_add_watch(b, "watched", IN_DELETE);
    t_printf("wds: other %d, watched %d, file %d, B %d", w_other, w_dir, w_file, w_b);
    K_EXPECT(w_other == 1 && w_dir == 2 && w_file == 3 && w_b == 1);
    t_assert(inotify_rm_watch(a, w_other) == 0);
    K_EXPECT(show_events(a, "before the point") == 1); /* IN_IGNORED of wd 1 */
    t_printf("A non-blocking %s, close-on-exec %s; B blocking %s, not close-on-exec %s", k_yes(k_nonblock(a)),
             k_yes(k_cloexec(a)), k_yes(!k_nonblock(b)) /* blocking */, k_yes(!k_cloexec(b)));

    t_checkpoint_point(1);

    t_printf("after: A non-blocking %s, close-on-exec %s; B blocking %s, not close-on-exec %s", k_yes(k_nonblock(a)),
             k_yes(k_cloexec(a)), k_yes(!k_nonblock(b)), k_yes(!k_cloexec(b)));
    char c;
    errno = 0;
    K_EXPECT(read(a, &c, 1) < 0 && errno == EAGAIN); /* nothing queued */
    int n = open("watched/new", O_WRONLY | O_CREAT, 0644);
    t_assert(n >= 0);
    close(n);
    K_EXPECT(show_events(a, "create") == 1);
    k_write_all(f, "x", 1);
    K_EXPECT(show_events(a, "write") == 1);
    t_assert(unlink("watched/new") == 0);
    K_EXPECT(show_events(a, "delete on A") == 1);
    K_EXPECT(show_events(b, "delete on B") == 1);
    int w_again = inotify_add_watch(a, "other", IN_CREATE);
    t_printf("new watch on other: wd %d", w_again);
    K_EXPECT(w_again == 4);
    t_assert(inotify_rm_watch(a, w_dir) == 0);
    K_EXPECT(show_events(a, "rm wd 2") == 1);
    close(f);
    close(a);
    close(b);
    clean();
    k_finish();
}
