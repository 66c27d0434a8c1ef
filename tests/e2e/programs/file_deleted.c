/* An open, unlinked file keeps its contents and offset across
 * checkpoint/restart and stays unlinked. */
#define _GNU_SOURCE
#include "crtest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char text1[] = "known contents line 1\nknown contents line 2\n";
static const char text2[] = "written after restart\n";

int main(void) {
    int fd = open("victim.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
    t_assert(fd >= 0);
    t_assert(write(fd, text1, strlen(text1)) == (ssize_t)strlen(text1));
    t_assert(unlink("victim.txt") == 0);
    struct stat st;
    t_assert(fstat(fd, &st) == 0);
    t_printf("before: size %lld nlink %ld offset %lld", (long long)st.st_size,
             (long)st.st_nlink, (long long)lseek(fd, 0, SEEK_CUR));

    t_checkpoint_point(1);

    t_assert(fstat(fd, &st) == 0);
    t_printf("after: size %lld nlink %ld offset %lld", (long long)st.st_size,
             (long)st.st_nlink, (long long)lseek(fd, 0, SEEK_CUR));
    errno = 0;
    int gone = access("victim.txt", F_OK) != 0 && errno == ENOENT;
    t_printf("path still absent: %d", gone);

    char buf[512];
    t_assert(lseek(fd, 0, SEEK_SET) == 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    t_assert(n >= 0);
    buf[n] = '\0';
    t_printf("read %zd bytes:", n);
    t_printf("%s", buf);

    t_assert(write(fd, text2, strlen(text2)) == (ssize_t)strlen(text2));
    t_assert(lseek(fd, 0, SEEK_SET) == 0);
    n = read(fd, buf, sizeof buf - 1);
    t_assert(n >= 0);
    buf[n] = '\0';
    t_printf("read back %zd bytes:", n);
    t_printf("%s", buf);
    t_assert(close(fd) == 0);
    t_pass();
}
