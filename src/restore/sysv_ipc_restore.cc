// System V semaphore sets and message queues (SysvIpc section), before any restored
// process runs. Each object comes back with its id:
//   - still there with the same id and key (and as many semaphores): reused;
//   - gone: made again with its id, by writing it to /proc/sys/kernel/sem_next_id or
//     msg_next_id just before semget()/msgget() (needs CAP_CHECKPOINT_RESTORE or
//     CAP_SYS_ADMIN over the IPC namespace: root); without that the restart fails naming
//     the id;
//   - its id or key taken by another object: the restart fails with EBUSY naming both.
// Then semaphores get their values (SETALL) and queues their size (msg_qbytes) and
// exactly the saved messages, in order (what a reused queue holds is taken out first).
// Not restored: each semaphore's sempid, a queue's lspid/lrpid (the kernel sets them to
// the caller: cr_restart), and SEM_UNDO adjustments of the processes.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "restore/restore_context.h"
#include "sys/io.h"

namespace crest {

namespace {

union SemArg {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

Result<void> set_next_id(const char* file, int id, const char* what, int key) {
  Fd f(::open(file, O_WRONLY | O_CLOEXEC));
  std::string text = format("%d", id);
  if (!f.valid() || ::write(f.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return Error::os(format("System V %s %d (key %#x) is gone and cannot be made again with its id: writing %s (needs "
                            "CAP_CHECKPOINT_RESTORE or root)", what, id, key, file));
  return {};
}

Result<int> make_sem_set(const SysvSemSetRecord& r) {
  semid_ds ds{};
  SemArg arg{};
  arg.buf = &ds;
  const int n = static_cast<int>(r.values.size());
  if (semctl(r.id, 0, IPC_STAT, arg) == 0) {
    if (ds.sem_perm.__key == r.key && static_cast<int>(ds.sem_nsems) == n) return r.id;  // still there: reused
    return Error::os(format("System V semaphore set id %d is taken by another set (key %#x, %lu semaphores; the image's "
                            "had key %#x, %d semaphores)", r.id, ds.sem_perm.__key, (unsigned long)ds.sem_nsems, r.key, n), EBUSY);
  }
  if (r.key != IPC_PRIVATE) {
    int other = semget(r.key, 0, 0);
    if (other >= 0)
      return Error::os(format("System V semaphore key %#x is taken by set %d (the image's set was %d)", r.key, other, r.id), EBUSY);
  }
  CR_TRY(set_next_id("/proc/sys/kernel/sem_next_id", r.id, "semaphore set", r.key));
  int id = semget(r.key, n, IPC_CREAT | IPC_EXCL | static_cast<int>(r.mode & 0777));
  if (id < 0) return Error::os(format("semget(key %#x, %d) for set %d", r.key, n, r.id));
  if (id != r.id) {
    semctl(id, 0, IPC_RMID);
    return Error::os(format("System V semaphore set %d could not get its id back (got %d)", r.id, id), EBUSY);
  }
  return id;
}

Result<int> make_queue(const SysvQueueRecord& r) {
  msqid_ds ds{};
  if (msgctl(r.id, IPC_STAT, &ds) == 0) {
    if (ds.msg_perm.__key == r.key) return r.id;
    return Error::os(format("System V message queue id %d is taken by another queue (key %#x; the image's had key %#x)", r.id,
                            ds.msg_perm.__key, r.key), EBUSY);
  }
  if (r.key != IPC_PRIVATE) {
    int other = msgget(r.key, 0);
    if (other >= 0)
      return Error::os(format("System V message queue key %#x is taken by queue %d (the image's queue was %d)", r.key, other, r.id), EBUSY);
  }
  CR_TRY(set_next_id("/proc/sys/kernel/msg_next_id", r.id, "message queue", r.key));
  int id = msgget(r.key, IPC_CREAT | IPC_EXCL | static_cast<int>(r.mode & 0777));
  if (id < 0) return Error::os(format("msgget(key %#x) for queue %d", r.key, r.id));
  if (id != r.id) {
    msgctl(id, IPC_RMID, nullptr);
    return Error::os(format("System V message queue %d could not get its id back (got %d)", r.id, id), EBUSY);
  }
  return id;
}

// As root: the saved owner and mode (IPC_SET); otherwise they are ours already or kept.
template <typename Ds, typename SetFn>
void set_owner(Ds& ds, uint32_t uid, uint32_t gid, uint32_t mode, SetFn set) {
  if (ds.uid == uid && ds.gid == gid && (ds.mode & 0777) == mode) return;
  ds.uid = uid;
  ds.gid = gid;
  ds.mode = (ds.mode & ~0777u) | mode;
  set();
}

Result<void> restore_sem_set(const SysvSemSetRecord& r) {
  int id = CR_TRY(make_sem_set(r));
  std::vector<unsigned short> values(r.values.begin(), r.values.end());
  SemArg arg{};
  arg.array = values.data();
  if (!values.empty() && semctl(id, 0, SETALL, arg) != 0) return Error::os(format("semctl(%d, SETALL)", id));
  semid_ds ds{};
  arg.buf = &ds;
  if (semctl(id, 0, IPC_STAT, arg) == 0)
    set_owner(ds.sem_perm, r.uid, r.gid, r.mode, [&] {
      arg.buf = &ds;
      semctl(id, 0, IPC_SET, arg);
    });
  return {};
}

Result<void> restore_queue(const SysvQueueRecord& r) {
  int id = CR_TRY(make_queue(r));
  std::vector<uint8_t> buf(sizeof(long) + (1 << 16));
  // A reused queue: what it holds now goes, the saved messages come back in order.
  while (msgrcv(id, buf.data(), buf.size() - sizeof(long), 0, IPC_NOWAIT | MSG_NOERROR) >= 0) {
  }
  msqid_ds ds{};
  if (msgctl(id, IPC_STAT, &ds) != 0) return Error::os(format("msgctl(%d, IPC_STAT)", id));
  if (ds.msg_qbytes != r.qbytes) {
    msqid_ds want = ds;
    want.msg_qbytes = r.qbytes;
    if (msgctl(id, IPC_SET, &want) != 0)
      fprintf(stderr, "cr_restart: warning: System V message queue %d: its size %llu cannot be restored (%s); it is %llu\n", id,
              (unsigned long long)r.qbytes, strerror(errno), (unsigned long long)ds.msg_qbytes);
  }
  for (const SysvMessageRecord& m : r.messages) {
    if (buf.size() < sizeof(long) + m.text.size()) buf.resize(sizeof(long) + m.text.size());
    long type = static_cast<long>(m.type);
    memcpy(buf.data(), &type, sizeof type);
    memcpy(buf.data() + sizeof type, m.text.data(), m.text.size());
    if (msgsnd(id, buf.data(), m.text.size(), IPC_NOWAIT) != 0)
      return Error::os(format("System V message queue %d: putting back a message of type %ld, %zu bytes", id, type, m.text.size()));
  }
  if (msgctl(id, IPC_STAT, &ds) == 0) set_owner(ds.msg_perm, r.uid, r.gid, r.mode, [&] { msgctl(id, IPC_SET, &ds); });
  return {};
}

}  // namespace

Result<void> restore_sysv_ipc(const std::vector<const ProcessImage*>& images) {
  for (const ProcessImage* image : images) {
    for (const SysvSemSetRecord& r : image->sysv_ipc.sem_sets) CR_TRY(restore_sem_set(r));
    for (const SysvQueueRecord& r : image->sysv_ipc.queues) CR_TRY(restore_queue(r));
  }
  return {};
}

}  // namespace crest
