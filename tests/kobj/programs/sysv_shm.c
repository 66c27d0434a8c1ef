/* System V shared memory across checkpoint/restart: a segment created, attached,
 * marked for removal (IPC_RMID, the usual pattern) and shared with a child forked
 * before the point; a second segment with a key, left in place, attached at two
 * places, one of them read-only. After restart both processes still share the
 * segments (the child's increments are seen by the parent), the contents written
 * before the point are intact, the read-only attachment is still read-only, and
 * IPC_STAT on the saved ids works. */
#include "kobj.h"

#include <sys/shm.h>
#include <sys/wait.h>

#define SEG1 (3 * 4096)
#define SEG2 (2 * 4096)

int main(void) {
    int id1 = shmget(IPC_PRIVATE, SEG1, IPC_CREAT | 0600);
    t_assert(id1 >= 0);
    volatile long *a = shmat(id1, NULL, 0);
    t_assert(a != (void *)-1);
    t_assert(shmctl(id1, IPC_RMID, NULL) == 0);
    key_t key = (key_t)(0x43520000 | (getpid() & 0xffff));
    int id2 = shmget(key, SEG2, IPC_CREAT | IPC_EXCL | 0600);
    t_assert(id2 >= 0);
    char *b = shmat(id2, NULL, 0);
    const char *b_ro = shmat(id2, NULL, SHM_RDONLY);
    t_assert(b != (void *)-1 && b_ro != (void *)-1);
    a[0] = 100;
    a[SEG1 / sizeof(long) - 1] = 7;
    strcpy(b + 4096, "written before the point");

    int go[2];
    t_assert(pipe(go) == 0);
    pid_t c = fork();
    t_assert(c >= 0);
    if (c == 0) {
        close(go[1]);
        char x;
        t_assert(read(go[0], &x, 1) == 1);  /* blocked here at the point */
        for (int i = 0; i < 10; i++) a[1]++;
        strcpy(b, "child was here");
        _exit(0);
    }
    close(go[0]);

    t_checkpoint_point(1);

    t_assert(write(go[1], "g", 1) == 1);
    int st;
    t_assert(waitpid(c, &st, 0) == c);
    t_printf("child exit %d", WEXITSTATUS(st));
    t_printf("segment 1: a[0] %ld, last %ld, child's increments %ld", a[0], a[SEG1 / sizeof(long) - 1], a[1]);
    K_EXPECT(a[1] == 10);
    t_printf("segment 2 through the read-only attachment: '%s', '%s'", b_ro, b_ro + 4096);
    K_EXPECT(strcmp(b_ro, "child was here") == 0);
    struct shmid_ds ds;
    K_EXPECT(shmctl(id1, IPC_STAT, &ds) == 0);
    t_printf("segment 1 size %zu, marked for removal %s", (size_t)ds.shm_segsz, k_yes(ds.shm_perm.mode & SHM_DEST));
    K_EXPECT(shmctl(id2, IPC_STAT, &ds) == 0);
    t_printf("segment 2 size %zu, key kept %s", (size_t)ds.shm_segsz, k_yes(ds.shm_perm.__key == key));
    /* The read-only attachment must still be mapped without write permission. */
    FILE *m = fopen("/proc/self/maps", "r");
    t_assert(m != NULL);
    char line[512];
    int ro = 0;
    while (fgets(line, sizeof line, m)) {
        unsigned long lo;
        char perms[5];
        if (sscanf(line, "%lx-%*x %4s", &lo, perms) == 2 && lo == (unsigned long)b_ro) ro = perms[1] == '-';
    }
    fclose(m);
    t_printf("read-only attachment still read-only: %s", k_yes(ro));
    K_EXPECT(ro);
    shmdt((void *)a);
    shmdt(b);
    shmdt(b_ro);
    shmctl(id2, IPC_RMID, NULL);
    k_finish();
}
