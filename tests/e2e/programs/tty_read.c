/* read() on a tty blocked across checkpoint/restart; the restored fd 0 is
 * the restarter's terminal and receives the line typed after restart. */
#define _GNU_SOURCE
#include "crtest.h"

#include <string.h>
#include <unistd.h>

int main(void) {
    t_puts("prompt: type a line");
    t_printf("stdin isatty %d", isatty(0));
    char buf[256];
    t_mark("READ");
    ssize_t n = read(0, buf, sizeof buf - 1);
    t_assert(n > 0);
    buf[n] = '\0';
    if (buf[n - 1] == '\n')
        buf[n - 1] = '\0';
    t_printf("read %zd bytes: [%s]", n, buf);
    t_printf("stdin isatty %d", isatty(0));
    t_pass();
}
