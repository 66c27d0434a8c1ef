/* pause() interrupted by checkpoint/restart keeps waiting until SIGUSR1. */
#define _GNU_SOURCE
#include "crtest.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig) {
    (void)sig;
    got_usr1++;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    t_assert(sigaction(SIGUSR1, &sa, NULL) == 0);
    t_puts("pausing");
    t_mark("PAUSE");
    int r = pause();
    int err = errno;
    t_printf("woken: ret=%d eintr=%d usr1=%d", r, err == EINTR, (int)got_usr1);
    t_pass();
}
