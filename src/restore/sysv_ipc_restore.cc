// System V semaphore sets and message queues (SysvIpc section), before any restored
// process runs. Each object comes back with its id:
//   - still there with the same id and key (and as many semaphores): reused;
//   - gone: made again with its id, by writing it to /proc/sys/kernel/sem_next_id or
//     msg_next_id just before semget()/msgget() (needs CAP_CHECKPOINT_RESTORE or
//     CAP_SYS_ADMIN over the IPC namespace: root); without that the restart fails naming
//     the id;
//   - its id or key taken by another object: the restart fails with EBUSY naming both.
// An object found exactly as saved is left alone. Otherwise semaphores get their values
// (SETALL) and queues their size (msg_qbytes) and exactly the saved messages, in order
// (what a reused queue holds is taken out first; the last one is held back when its
// last sender is in the image). Then, once the processes exist (restore_sysv_ipc_pids),
// the last-user pids the kernel keeps, which are how a later checkpoint finds these
// objects again: each semaphore's sempid by an injected semop() that leaves its value as
// it is, made by the process that had it (value > 0: -1 then +1; value 0: a
// wait-for-zero, which returns at once); a queue's lspid by its last sender sending the
// held-back message (or a 0-byte marker of a type no saved message has), its lrpid by
// its last receiver taking such a marker (cr_restart stands in for one not in the
// image). Objects left alone get this only for processes restored under a new pid.
// Not restored: SEM_UNDO adjustments of the processes, and the times; a queue's lspid
// or lrpid that was a process outside the image, or 0, becomes cr_restart's when the
// marker was needed.
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cstring>

#include "restore/restore_context.h"
#include "sys/io.h"
#include "sys/sysv_sem.h"

namespace crest {

namespace {

Result<void> set_next_id(const char* file, int id, const char* what, int key) {
  RestarterRights privileged;  // the id only: the object is then made as the job (ActingAs)
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

// A set whose values are those saved is left alone (its sempids too: nobody ran since).
Result<bool> restore_sem_set(const SysvSemSetRecord& r) {
  int id = CR_TRY(make_sem_set(r));
  std::vector<unsigned short> values(r.values.begin(), r.values.end());
  std::vector<unsigned short> now(values.size());
  SemArg arg{};
  arg.array = now.data();
  if (id == r.id && !values.empty() && semctl(id, 0, GETALL, arg) == 0 && now == values) return false;
  arg.array = values.data();
  if (!values.empty() && semctl(id, 0, SETALL, arg) != 0) return Error::os(format("semctl(%d, SETALL)", id));
  semid_ds ds{};
  arg.buf = &ds;
  if (semctl(id, 0, IPC_STAT, arg) == 0)
    set_owner(ds.sem_perm, r.uid, r.gid, r.mode, [&] {
      arg.buf = &ds;
      semctl(id, 0, IPC_SET, arg);
    });
  return true;
}

// Whether queue `id` holds exactly the saved messages (copied with MSG_COPY).
bool holds_saved(int id, const SysvQueueRecord& r) {
  msqid_ds ds{};
  if (msgctl(id, IPC_STAT, &ds) != 0 || ds.msg_qnum != r.messages.size() || ds.msg_qbytes != r.qbytes) return false;
  std::vector<uint8_t> buf(sizeof(long) + (1 << 16));
  for (size_t i = 0; i < r.messages.size(); ++i) {
    ssize_t n = msgrcv(id, buf.data(), buf.size() - sizeof(long), static_cast<long>(i), IPC_NOWAIT | MSG_COPY | MSG_NOERROR);
    long type;
    memcpy(&type, buf.data(), sizeof type);
    const SysvMessageRecord& m = r.messages[i];
    if (n < 0 || type != m.type || static_cast<size_t>(n) != m.text.size() ||
        memcmp(buf.data() + sizeof(long), m.text.data(), m.text.size()) != 0)
      return false;
  }
  return true;
}

Result<void> send_message(int id, const SysvMessageRecord& m) {
  std::vector<uint8_t> buf(sizeof(long) + m.text.size());
  long type = static_cast<long>(m.type);
  memcpy(buf.data(), &type, sizeof type);
  memcpy(buf.data() + sizeof type, m.text.data(), m.text.size());
  if (msgsnd(id, buf.data(), m.text.size(), IPC_NOWAIT) != 0)
    return Error::os(format("System V message queue %d: putting back a message of type %ld, %zu bytes", id, type, m.text.size()));
  return {};
}

// A queue holding exactly the saved messages is left alone (its lspid/lrpid too).
// Otherwise its contents are replaced; when its last sender is in the image, the last
// message is held back for that process to send (restore_queue_pids).
Result<bool> restore_queue(const SysvQueueRecord& r, bool hold_last) {
  int id = CR_TRY(make_queue(r));
  if (holds_saved(id, r)) return false;
  std::vector<uint8_t> buf(sizeof(long) + (1 << 16));
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
  size_t count = r.messages.size() - (hold_last && !r.messages.empty() ? 1 : 0);
  for (size_t i = 0; i < count; ++i) CR_TRY(send_message(id, r.messages[i]));
  if (msgctl(id, IPC_STAT, &ds) == 0) set_owner(ds.msg_perm, r.uid, r.gid, r.mode, [&] { msgctl(id, IPC_SET, &ds); });
  return true;
}

struct RemoteSembuf {
  uint16_t num;
  int16_t op, flags;
};

Result<void> remote_semop(StubSession& s, int id, const std::vector<RemoteSembuf>& ops) {
  if (ops.empty()) return {};
  CR_TRY(s.tracee.write_memory(s.scratch, ops.data(), ops.size() * sizeof ops[0]));
  CR_TRY(s.sys.call("semop", SYS_semop, {static_cast<uint64_t>(id), s.scratch, ops.size()}));
  return {};
}

// only_renamed: only for processes restored under a new pid (the set itself untouched).
Result<void> restore_sem_pids(const SysvSemSetRecord& r, const std::map<pid_t, StubSession*>& sessions, bool only_renamed) {
  for (auto& [saved, session] : sessions) {
    if (only_renamed && session->tracee.tid() == saved) continue;
    std::vector<RemoteSembuf> first, second;
    for (size_t i = 0; i < r.pids.size() && i < r.values.size(); ++i) {
      if (r.pids[i] != saved) continue;
      auto num = static_cast<uint16_t>(i);
      if (r.values[i] == 0) {
        first.push_back({num, 0, IPC_NOWAIT});
      } else {
        first.push_back({num, -1, IPC_NOWAIT});
        second.push_back({num, +1, IPC_NOWAIT});
      }
    }
    CR_TRY(remote_semop(*session, r.id, first), "semaphore set %d: its last pids, in process %d", r.id, saved);
    CR_TRY(remote_semop(*session, r.id, second), "semaphore set %d: its last pids, in process %d", r.id, saved);
  }
  return {};
}

Result<void> remote_msgsnd(StubSession& s, int id, long type, const std::vector<uint8_t>& text) {
  std::vector<uint8_t> buf(sizeof type + text.size());
  memcpy(buf.data(), &type, sizeof type);
  if (!text.empty()) memcpy(buf.data() + sizeof type, text.data(), text.size());
  if (buf.size() > StubSession::kAreaSize - 4096 - 64) return Error::unsupported("message too large to send from the process");
  CR_TRY(s.tracee.write_memory(s.scratch, buf.data(), buf.size()));
  CR_TRY(s.sys.call("msgsnd", SYS_msgsnd, {static_cast<uint64_t>(id), s.scratch, text.size(), IPC_NOWAIT}));
  return {};
}

// The last receiver takes a marker (0 bytes, a type no saved message has) that the last
// sender, or cr_restart, put there; the last sender sends the held-back last message.
Result<void> restore_queue_pids(const SysvQueueRecord& r, bool held_last, const std::map<pid_t, StubSession*>& sessions) {
  auto sender = sessions.find(r.lspid), receiver = sessions.find(r.lrpid);
  StubSession* q = sender == sessions.end() ? nullptr : sender->second;
  StubSession* rr = receiver == sessions.end() ? nullptr : receiver->second;
  long marker = 1;
  for (const SysvMessageRecord& m : r.messages) marker = std::max<long>(marker, m.type + 1);
  const std::vector<uint8_t> none;
  bool marker_sent = false;
  if (rr || (q && !held_last)) {
    if (q && !held_last) CR_TRY(remote_msgsnd(*q, r.id, marker, none), "message queue %d: its last sender, process %d", r.id, r.lspid);
    else if (msgsnd(r.id, &marker, 0, IPC_NOWAIT) != 0) return Error::os(format("message queue %d: a marker message", r.id));
    marker_sent = true;
  }
  if (marker_sent) {
    if (rr) {
      CR_TRY(rr->sys.call("msgrcv", SYS_msgrcv, {static_cast<uint64_t>(r.id), rr->scratch, 0, static_cast<uint64_t>(marker), IPC_NOWAIT}),
             "message queue %d: its last receiver, process %d", r.id, r.lrpid);
    } else {
      long buf[2];
      if (msgrcv(r.id, buf, 0, marker, IPC_NOWAIT) < 0) return Error::os(format("message queue %d: taking back the marker", r.id));
    }
  }
  if (held_last) {
    const SysvMessageRecord& last = r.messages.back();
    CR_TRY(remote_msgsnd(*q, r.id, static_cast<long>(last.type), last.text), "message queue %d: its last message, from process %d",
           r.id, r.lspid);
  }
  return {};
}

bool in_image(const std::vector<const ProcessImage*>& images, pid_t pid) {
  for (const ProcessImage* image : images)
    if (pid > 0 && image->process.pid == pid) return true;
  return false;
}

}  // namespace

Result<SysvTouched> restore_sysv_ipc(const std::vector<const ProcessImage*>& images) {
  SysvTouched touched;
  for (const ProcessImage* image : images) {
    for (const SysvSemSetRecord& r : image->sysv_ipc.sem_sets)
      if (CR_TRY(restore_sem_set(r))) touched.sem_sets.insert(r.id);
    for (const SysvQueueRecord& r : image->sysv_ipc.queues) {
      bool hold_last = in_image(images, r.lspid) && !r.messages.empty();
      if (CR_TRY(restore_queue(r, hold_last))) touched.queues[r.id] = hold_last;
    }
  }
  return touched;
}

Result<void> restore_sysv_ipc_pids(const std::vector<const ProcessImage*>& images, const SysvTouched& touched,
                                   const std::map<pid_t, StubSession*>& sessions) {
  for (const ProcessImage* image : images) {
    for (const SysvSemSetRecord& r : image->sysv_ipc.sem_sets) CR_TRY(restore_sem_pids(r, sessions, !touched.sem_sets.count(r.id)));
    for (const SysvQueueRecord& r : image->sysv_ipc.queues) {
      if (auto it = touched.queues.find(r.id); it != touched.queues.end()) {
        CR_TRY(restore_queue_pids(r, it->second, sessions));
        continue;
      }
      // Untouched, but its last sender or receiver has a new pid (--no-restore-pid): the
      // marker gives it that pid (the other one, when not in the image, becomes ours).
      auto renamed = [&](pid_t saved) {
        auto s = sessions.find(saved);
        return s != sessions.end() && s->second->tracee.tid() != saved;
      };
      if (renamed(r.lspid) || renamed(r.lrpid)) CR_TRY(restore_queue_pids(r, false, sessions));
    }
  }
  return {};
}

}  // namespace crest
