// What the restore units share for one process.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "attrs/attributes_record.h"
#include "base/fd.h"
#include "image/image_reader.h"
#include "ptrace/remote_syscalls.h"
#include "fds/fd_table.h"
#include "records/fd_record.h"
#include "records/memory_record.h"
#include "records/process_record.h"
#include "records/signals_record.h"
#include "records/sysv_ipc_record.h"
#include "records/thread_record.h"
#include "restore/restorer.h"
#include "sys/procfs.h"

namespace crest {

struct ProcessImage {
  ProcessRecord process;
  std::vector<ThreadRecord> threads;  // [0] is the thread-group leader
  SignalsRecord signals;
  AttributesRecord attributes;  // src/attrs (absent in older images: nothing to restore)
  FdTableRecord fds;
  struct FileExtent {
    uint64_t offset = 0;
    std::vector<uint8_t> bytes;
  };
  std::map<int, std::vector<FileExtent>> file_data;  // fd -> the data of a deleted file (holes between)
  struct PipeContents {
    uint32_t size = 0;
    std::vector<uint8_t> bytes;
  };
  std::map<uint64_t, PipeContents> pipe_data;      // pipe_id -> size and buffered bytes
  struct QueuedMessage {
    std::vector<uint8_t> bytes;
    std::string sender;  // bound name of a datagram's sender, empty if unnamed
  };
  std::map<uint64_t, std::vector<QueuedMessage>> socket_data;  // inode -> queued messages
  MemoryMapRecord memory;
  SysvIpcRecord sysv_ipc;  // System V semaphore sets and message queues (with the first process)
};

// A file opened by cr_restart, to appear at `target` in the stub.
struct PreparedFd {
  int target;
  int local;  // owned; close-on-exec, above every target number
};

// sysv_ipc_restore.cc: the System V semaphore sets and message queues of the image, with
// their ids, values and messages (an object still there with its id and key is reused;
// one already as saved is left alone). Returns those it changed (queue id -> whether its
// last message was held back for its last sender to send).
struct SysvTouched {
  std::set<int> sem_sets;
  std::map<int, bool> queues;
};
Result<SysvTouched> restore_sysv_ipc(const std::vector<const ProcessImage*>& images);
// For those changed: each semaphore's last pid and each queue's last sender/receiver, set
// again by syscalls injected into the restored processes (`sessions`: by saved pid).
struct StubSession;
Result<void> restore_sysv_ipc_pids(const std::vector<const ProcessImage*>& images, const SysvTouched& touched,
                                   const std::map<pid_t, StubSession*>& sessions);
// stub.cc: forks the stub (original pid with clone3 set_tid, or any pid), lays out its
// fds, cwd, umask, rlimits and personality, and execs the original executable under
// ptrace; returns it stopped at its exec.
// `keep` is a descriptor of ours the stub gets at number `keep_at` (or -1).
Result<Tracee> spawn_stub(const ProcessImage& image, const RestoreOptions& options, std::vector<PreparedFd>& fds, int keep,
                          int keep_at);

// address_space.cc
struct StubSession {
  Tracee& tracee;
  RemoteSyscalls sys;
  uint64_t area = 0;       // our gadget + scratch mapping
  uint64_t scratch = 0;
  // Saved pid -> pid now of every restored process (for pidfds), once all exist.
  const std::map<pid_t, pid_t>* restored_pids = nullptr;
  static constexpr size_t kAreaSize = 17 * 4096;  // 1 code page + 16 scratch pages
};
// An address for our area, free in every image's layout and in the stub's.
Result<uint64_t> choose_area(const std::vector<const ProcessImage*>& images, const std::vector<MapsEntry>& stub_maps, uint64_t size);
Result<std::unique_ptr<StubSession>> start_stub_session(Tracee& stub, uint64_t area);
// Shared memory objects mapped by more than one area of the image: one memfd each, made
// by cr_restart and passed to every stub that maps it.
struct SharedMemory {
  int sock_local = -1, sock_remote = -1;
  std::map<uint64_t, Fd> objects;  // object_id -> memfd
  std::map<uint64_t, int> sysv;    // saved shmid -> the segment's id now
  std::vector<int> sysv_remove;    // segments to mark for removal once attached (SHM_DEST)
};
// `deleted_files`: inode -> our fd of each deleted file or memfd the image reopened.
Result<SharedMemory> make_shared_memory(const std::vector<const ProcessImage*>& images, const std::map<uint64_t, int>& deleted_files);
Result<void> replace_address_space(StubSession& s, const ProcessImage& image, const RestoreOptions& options, SharedMemory& shm);
// Reads MemoryPages sections up to and including the trailer, writing each into the stub
// of the process that owns it.
Result<void> fill_memory(const std::map<pid_t, std::pair<StubSession*, const ProcessImage*>>& targets, ImageReader& reader,
                         const RestoreOptions& options);
Result<void> finish_memory(StubSession& s, const ProcessImage& image);
// area_attributes.cc: each area's locks and madvise hints (VmaRecord::attrs); a call
// that fails fails the restart, naming the area.
Result<void> restore_area_attributes(StubSession& s, const ProcessImage& image);

// credentials_restore.cc (docs/design.md "Credentials", "Trust")
// Whether the saved ids of every thread may be given: as root, any when the image is
// root's or trusted, else only its owner's (no capabilities); as an ordinary user, only
// cr_restart's own. Refused by name (EPERM) otherwise.
Result<void> check_saved_credentials(const std::vector<const ProcessImage*>& images, const RestoreOptions& options);
// The credentials cr_restart acts with for `image` (its main thread's, once checked).
const CredentialsRecord& acting_credentials(const ProcessImage& image);
// While alive, cr_restart's calling thread has the effective uid, gid and groups of `c`
// (its filesystem ids follow): what it opens, binds, makes or changes is checked as the
// restored process would be. Root only (a no-op otherwise); other threads keep theirs.
class ActingAs {
 public:
  explicit ActingAs(const CredentialsRecord& c);
  ~ActingAs();
  ActingAs(const ActingAs&) = delete;
  ActingAs& operator=(const ActingAs&) = delete;
  Result<void> check() const;  // whether the switch worked

 private:
  bool active_ = false;
  int failed_ = 0;
  int dumpable_ = -1;
  uid_t saved_euid_ = 0;
  gid_t saved_egid_ = 0;
  std::vector<gid_t> saved_groups_;
};
// Inside an ActingAs: root's effective uid back for one privileged step that grants the
// restored process nothing (choosing the id of a System V object it then makes itself).
class RestarterRights {
 public:
  RestarterRights();
  ~RestarterRights();
  RestarterRights(const RestarterRights&) = delete;
  RestarterRights& operator=(const RestarterRights&) = delete;

 private:
  bool active_ = false;
  uid_t euid_ = 0;
};
// In a freshly forked stub (raw syscalls, no allocation needed by the kernel side):
// groups and filesystem ids of `c`, so that its chdir and exec are checked as the
// restored process. Returns 0 or an errno.
int act_as_natively(const CredentialsRecord& c);
// The same injected into a stub (as root only): its file opens and maps are the
// process's own until restore_thread_credentials().
Result<void> act_as_in_stub(RemoteSyscalls& sys, const Tracee& t, uint64_t scratch, const CredentialsRecord& c);
// Last, per thread: gives the thread its saved ids, groups, capabilities and securebits
// (as root), then reads them back and refuses by name any that differ.
Result<void> restore_thread_credentials(RemoteSyscalls& sys, const Tracee& t, uint64_t scratch, const CredentialsRecord& want);

// threads_restore.cc
// Creates the thread `rec` in the stub by injecting clone3(CLONE_THREAD) into the
// leader (with its saved tid unless `fresh_tid`); returns it stopped before its first
// instruction.
Result<Tracee> create_thread(StubSession& s, const ThreadRecord& rec, bool fresh_tid);
// clone3 injected into the stub's leader; the new task is returned stopped.
Result<Tracee> inject_clone3(StubSession& s, uint64_t flags, pid_t want, bool fresh, const char* what);

// tree_restore.cc
// Forks a child of the stub `parent` (injected clone3 with set_tid unless `fresh_pid`),
// makes it exec `exe` and returns it stopped there, like a fresh stub.
// `creds`: the child's, to act with before its exec (act_as_in_stub).
Result<Tracee> fork_child_stub(StubSession& parent, pid_t want, bool fresh_pid, const std::string& exe,
                               const CredentialsRecord& creds);
// In a forked stub: as root, the process's groups and filesystem ids (act_as_in_stub),
// then umask, cwd, personality.
Result<void> setup_child_basics(StubSession& s, const ProcessImage& image, const std::string& cwd);
// Sends our `local` over the socket and receives it in the stub; returns its number there.
Result<int> pass_fd(StubSession& s, int sock_local, int sock_remote, int local);
// Closes everything in the stub but `sock_remote`, then passes each prepared fd over the
// socket (SCM_RIGHTS) and puts it at its number with its close-on-exec flag.
Result<void> install_fds(StubSession& s, int sock_local, int sock_remote, const std::vector<PreparedFd>& fds,
                         const FdTableRecord& table);
// Per-thread kernel state by injection into that thread: sigaltstack, robust list,
// clear_child_tid, rseq, and its private pending signals.
Result<void> restore_thread_kernel_state(RemoteSyscalls& sys, const Tracee& t, uint64_t scratch, const ThreadRecord& rec,
                                         pid_t tgid);
// Registers (an interrupted syscall is re-entered), XSAVE area, signal mask.
Result<void> restore_thread_cpu(const Tracee& t, const ThreadRecord& rec);

}  // namespace crest
