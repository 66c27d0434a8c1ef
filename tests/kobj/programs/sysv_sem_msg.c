/* System V semaphores and message queues across checkpoint/restart. A set of three
 * semaphores (0: a lock, 1: a counter, 2: "go") and a message queue (msg_qbytes lowered
 * to 4000) are shared by the parent and a child. Before the point the parent queued
 * two messages (types 1 and 2) and the child, under the lock, counted twice and queued
 * two messages (types 10, 11); the child then blocks in semop() on "go". After the point
 * (after restart): ids, keys, modes, values and qbytes are as they were; the parent
 * releases "go"; the child counts three times more under the lock, queueing types
 * 12-14; the parent takes type 2 first (by type), then the rest in order, and finds the
 * counter at 5. Both objects are removed at the end (the ids are also written to
 * ipc.ids for run_ipc_test.py, which removes them if the test fails half-way). */
#include "kobj.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

struct msg {
    long type;
    char text[64];
};

static int sem_id, msg_id;

static void sem_do(int num, int op) {
    struct sembuf b = {(unsigned short)num, (short)op, 0};
    while (semop(sem_id, &b, 1) != 0)
        t_assert(errno == EINTR);
}

static void send_msg(long type, const char *text) {
    struct msg m = {type, {0}};
    snprintf(m.text, sizeof m.text, "%s", text);
    t_assert(msgsnd(msg_id, &m, strlen(m.text) + 1, IPC_NOWAIT) == 0);
}

/* One step of the child: under the lock, count and queue a message. */
static void child_step(int k) {
    char text[32];
    sem_do(0, -1);
    sem_do(1, +1);
    snprintf(text, sizeof text, "child step %d", k);
    send_msg(10 + k, text);
    sem_do(0, +1);
}

/* The pid of our one child now (it may be new after a restart with new pids). */
static pid_t my_child(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    FILE *f = fopen(path, "r");
    t_assert(f != NULL);
    int c = -1;
    if (fscanf(f, "%d", &c) != 1)
        c = -1;
    fclose(f);
    return c;
}

/* The last-user pids the kernel keeps (how a checkpoint finds the objects): lock and
 * counter last changed by the child, "go" by us (SETALL), the queue last sent to by the
 * child (its last receiver, none yet, is not checked: a restart may have to fill it). */
static void show_pids(const char *when) {
    pid_t c = my_child();
    struct msqid_ds mds;
    t_assert(msgctl(msg_id, IPC_STAT, &mds) == 0);
    t_printf("%s: sempids child/child/parent %s %s %s; queue last sender the child %s", when,
             k_yes(semctl(sem_id, 0, GETPID) == c), k_yes(semctl(sem_id, 1, GETPID) == c),
             k_yes(semctl(sem_id, 2, GETPID) == getpid()), k_yes(mds.msg_lspid == c));
}

static void show_state(const char *when, key_t sem_key, key_t msg_key) {
    unsigned short v[3];
    union semun arg = {.array = v};
    t_assert(semctl(sem_id, 0, GETALL, arg) == 0);
    struct semid_ds sds;
    arg.buf = &sds;
    t_assert(semctl(sem_id, 0, IPC_STAT, arg) == 0);
    struct msqid_ds mds;
    t_assert(msgctl(msg_id, IPC_STAT, &mds) == 0);
    t_printf("%s: semaphores %u %u %u, key kept %s, mode %o; queue: %lu messages, qbytes %lu, key kept %s, mode %o", when,
             v[0], v[1], v[2], k_yes(sds.sem_perm.__key == sem_key), sds.sem_perm.mode & 0777,
             (unsigned long)mds.msg_qnum, (unsigned long)mds.msg_qbytes, k_yes(mds.msg_perm.__key == msg_key),
             mds.msg_perm.mode & 0777);
}

int main(void) {
    key_t sem_key = (key_t)(0x43530000 | (getpid() & 0xffff));
    key_t msg_key = (key_t)(0x43540000 | (getpid() & 0xffff));
    sem_id = semget(sem_key, 3, IPC_CREAT | IPC_EXCL | 0640);
    t_assert(sem_id >= 0);
    msg_id = msgget(msg_key, IPC_CREAT | IPC_EXCL | 0620);
    if (msg_id < 0)
        semctl(sem_id, 0, IPC_RMID);
    t_assert(msg_id >= 0);
    FILE *ids = fopen("ipc.ids", "w");
    t_assert(ids != NULL);
    fprintf(ids, "sem %d %d\nmsg %d %d\n", sem_id, (int)sem_key, msg_id, (int)msg_key);
    fclose(ids);

    unsigned short init[3] = {1, 0, 0};
    union semun arg = {.array = init};
    t_assert(semctl(sem_id, 0, SETALL, arg) == 0);
    struct msqid_ds mds;
    t_assert(msgctl(msg_id, IPC_STAT, &mds) == 0);
    mds.msg_qbytes = 4000;
    t_assert(msgctl(msg_id, IPC_SET, &mds) == 0);
    send_msg(1, "parent one");
    send_msg(2, "parent two");

    pid_t c = fork();
    t_assert(c >= 0);
    if (c == 0) {
        child_step(0);
        child_step(1);
        sem_do(2, -1); /* blocked here at the point */
        for (int k = 2; k < 5; k++)
            child_step(k);
        _exit(0);
    }
    /* Until the child has done its two steps. */
    for (int i = 0; i < 1000 && semctl(sem_id, 1, GETVAL) != 2; i++)
        k_sleep_ms(10);
    K_EXPECT(semctl(sem_id, 1, GETVAL) == 2);
    for (int i = 0; i < 1000 && semctl(sem_id, 2, GETNCNT) != 1; i++)
        k_sleep_ms(10);
    show_state("before the point", sem_key, msg_key);
    show_pids("before the point");

    t_checkpoint_point(1);

    show_state("after the point", sem_key, msg_key);
    show_pids("after the point");
    t_printf("child waits on go: %s", k_yes(semctl(sem_id, 2, GETNCNT) == 1));
    sem_do(2, +1);
    int st;
    t_assert(waitpid(-1, &st, 0) > 0); /* the child (its pid may be new after a restart) */
    t_printf("child: %s", k_status(st));
    struct msg m;
    ssize_t n = msgrcv(msg_id, &m, sizeof m.text, 2, IPC_NOWAIT);
    t_assert(n > 0);
    t_printf("by type 2: type %ld '%s'", m.type, m.text);
    int count = 0;
    while ((n = msgrcv(msg_id, &m, sizeof m.text, 0, IPC_NOWAIT)) > 0) {
        t_printf("next: type %ld '%s'", m.type, m.text);
        count++;
    }
    K_EXPECT(count == 6);
    t_printf("counter %d, lock %d", semctl(sem_id, 1, GETVAL), semctl(sem_id, 0, GETVAL));
    K_EXPECT(semctl(sem_id, 1, GETVAL) == 5 && semctl(sem_id, 0, GETVAL) == 1);
    t_assert(semctl(sem_id, 0, IPC_RMID) == 0);
    t_assert(msgctl(msg_id, IPC_RMID, NULL) == 0);
    unlink("ipc.ids");
    k_finish();
}
