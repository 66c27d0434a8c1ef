/* A child stopped with SIGSTOP at checkpoint time. It counts in shared memory
 * (MAP_SHARED|MAP_ANONYMOUS) with short sleeps. After the point the parent
 * checks /proc/CHILD/stat says T and that the count does not move, sends
 * SIGCONT, checks that it moves, and reaps the child. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobtest.h"

struct shared {
    volatile long count;
    volatile int quit;
};

int main(void) {
    struct shared *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    t_assert(sh != MAP_FAILED);
    pid_t k = fork();
    t_assert(k >= 0);
    if (k == 0) {
        while (!sh->quit) {
            __atomic_add_fetch(&sh->count, 1, __ATOMIC_SEQ_CST);
            j_msleep(2);
        }
        t_puts("child: quit seen");
        _exit(5);
    }
    while (sh->count < 10)
        j_msleep(1);
    t_assert(kill(k, SIGSTOP) == 0);
    int st;
    t_assert(waitpid(k, &st, WUNTRACED) == k);
    t_printf("child reported: %s", j_status(st));
    long c1 = sh->count;
    j_msleep(100);
    t_printf("count frozen before the point: %s", sh->count == c1 ? "yes" : "no");

    j_point(1, "%d:T", k);

    t_printf("child state after the point: %c", j_proc_state(k));
    c1 = sh->count;
    j_msleep(300);
    long c2 = sh->count;
    t_printf("count frozen after the point: %s", c1 == c2 ? "yes" : "no");
    t_assert(kill(k, SIGCONT) == 0);
    int moved = 0;
    for (int i = 0; i < 5000 && !moved; i++) {
        moved = sh->count > c2 + 5;
        j_msleep(1);
    }
    t_printf("count moves after SIGCONT: %s", moved ? "yes" : "no");
    t_printf("child state after SIGCONT: %c", j_proc_state(k) == 'T' ? 'T' : 'S');
    sh->quit = 1;
    t_assert(waitpid(k, &st, 0) == k);
    t_printf("child: %s", j_status(st));
    t_pass();
}
