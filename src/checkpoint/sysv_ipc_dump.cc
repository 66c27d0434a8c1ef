// System V semaphore sets and message queues the job uses. They belong to no process
// (nothing in /proc/PID points to them), so crest takes the kernel's own record of who
// used them last (docs/design.md): a semaphore set one of whose semaphores was last
// operated on by a process of the checkpoint (semctl GETPID), and a message queue whose
// last sender or receiver (msg_lspid, msg_lrpid) is one. Objects the checkpointing user
// may not read (IPC_STAT refused) are not looked at. Each is saved with its id, key,
// mode and owner; semaphores with their values (GETALL) and last pids; queues with
// msg_qbytes and every message in order, copied with msgrcv(MSG_COPY), which leaves the
// queue as it was.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>

#include <sstream>

#include "checkpoint/dump_context.h"
#include "sys/io.h"
#include "sys/sysv_sem.h"

namespace crest {

namespace {

// Ids listed in /proc/sysvipc/{sem,msg} (second column), in the listed order.
Result<std::vector<int>> list_ids(const char* path) {
  auto text = read_text_file(path);
  if (!text) {
    if (text.error().error_number() == ENOENT) return std::vector<int>{};  // no System V IPC in this kernel
    return text.error();
  }
  std::vector<int> ids;
  std::istringstream in(*text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    long long key;
    int id;
    if (f >> key >> id) ids.push_back(id);
  }
  return ids;
}

Result<std::optional<SysvSemSetRecord>> read_sem_set(int id, const std::set<pid_t>& scope) {
  semid_ds ds{};
  SemArg arg{};
  arg.buf = &ds;
  if (semctl(id, 0, IPC_STAT, arg) != 0) {
    if (errno == EACCES || errno == EINVAL || errno == EIDRM) return std::optional<SysvSemSetRecord>();  // not ours / gone
    return Error::os(format("semctl(%d, IPC_STAT)", id));
  }
  SysvSemSetRecord rec;
  bool used = false;
  for (unsigned long i = 0; i < ds.sem_nsems; ++i) {
    int pid = semctl(id, static_cast<int>(i), GETPID);
    if (pid < 0) return Error::os(format("semctl(%d, %lu, GETPID)", id, i));
    rec.pids.push_back(pid);
    used |= pid > 0 && scope.count(pid);
  }
  if (!used) return std::optional<SysvSemSetRecord>();
  std::vector<unsigned short> values(ds.sem_nsems);
  arg.array = values.data();
  if (semctl(id, 0, GETALL, arg) != 0) return Error::os(format("semctl(%d, GETALL)", id));
  rec.id = id;
  rec.key = ds.sem_perm.__key;
  rec.mode = ds.sem_perm.mode & 0777;
  rec.uid = ds.sem_perm.uid;
  rec.gid = ds.sem_perm.gid;
  rec.values.assign(values.begin(), values.end());
  return std::optional<SysvSemSetRecord>(std::move(rec));
}

Result<std::optional<SysvQueueRecord>> read_queue(int id, const std::set<pid_t>& scope, size_t msgmax) {
  msqid_ds ds{};
  if (msgctl(id, IPC_STAT, &ds) != 0) {
    if (errno == EACCES || errno == EINVAL || errno == EIDRM) return std::optional<SysvQueueRecord>();
    return Error::os(format("msgctl(%d, IPC_STAT)", id));
  }
  if (!scope.count(ds.msg_lspid) && !scope.count(ds.msg_lrpid)) return std::optional<SysvQueueRecord>();
  SysvQueueRecord rec;
  rec.id = id;
  rec.key = ds.msg_perm.__key;
  rec.mode = ds.msg_perm.mode & 0777;
  rec.uid = ds.msg_perm.uid;
  rec.gid = ds.msg_perm.gid;
  rec.qbytes = ds.msg_qbytes;
  rec.lspid = ds.msg_lspid;
  rec.lrpid = ds.msg_lrpid;
  std::vector<uint8_t> buf(sizeof(long) + msgmax);
  for (unsigned long i = 0; i < ds.msg_qnum; ++i) {
    // MSG_COPY: the i-th message, copied; the queue is not changed.
    ssize_t n = msgrcv(id, buf.data(), msgmax, static_cast<long>(i), IPC_NOWAIT | MSG_COPY);
    if (n < 0) {
      if (errno == ENOSYS)
        return Error::unsupported(format("System V message queue %d holds messages, and this kernel has no msgrcv(MSG_COPY) "
                                         "(CONFIG_CHECKPOINT_RESTORE) to read them without taking them", id));
      return Error::os(format("msgrcv(%d, message %lu, MSG_COPY)", id, i));
    }
    SysvMessageRecord m;
    memcpy(&m.type, buf.data(), sizeof(long));
    m.text.assign(buf.begin() + sizeof(long), buf.begin() + sizeof(long) + n);
    rec.messages.push_back(std::move(m));
  }
  return std::optional<SysvQueueRecord>(std::move(rec));
}

}  // namespace

Result<SysvIpcRecord> collect_sysv_ipc(const std::set<pid_t>& scope) {
  SysvIpcRecord out;
  for (int id : CR_TRY(list_ids("/proc/sysvipc/sem")))
    if (auto set = CR_TRY(read_sem_set(id, scope), "System V semaphore set %d", id)) out.sem_sets.push_back(std::move(*set));
  auto ids = CR_TRY(list_ids("/proc/sysvipc/msg"));
  if (ids.empty()) return out;
  auto msgmax_text = CR_TRY(read_text_file("/proc/sys/kernel/msgmax"));
  size_t msgmax = std::strtoul(msgmax_text.c_str(), nullptr, 10);
  if (msgmax == 0) msgmax = 8192;
  for (int id : ids)
    if (auto q = CR_TRY(read_queue(id, scope, msgmax), "System V message queue %d", id)) out.queues.push_back(std::move(*q));
  return out;
}

}  // namespace crest
