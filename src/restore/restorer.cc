// Algorithm (one process):
//   1. read the header and every section up to the memory map (process, thread, signals,
//      fds, deleted-file contents, memory map);
//   2. open every file the process had (errors surface before a process exists);
//   3. spawn the stub with the original pid, its fds in place, stopped at its exec;
//   4. replace its address space and stream the saved pages in; the trailer is verified
//      here, so nothing of a truncated or corrupt image ever runs;
//   5. with injected syscalls: mm fields, comm, rlimits, sigactions, sigaltstack, robust
//      list, tid address, rseq, close-on-exec flags, pending signals, itimers; then unmap
//      our page;
//   5b. the process attributes (src/attrs: scheduling, oom_score_adj, prctl flags, ...);
//   6. registers (an interrupted syscall is re-entered), XSAVE state, signal mask; detach;
//   7. processes with libcr (an fd of kind LibcrChannel) find the restart's Result waiting
//      on their channel: wait (a few seconds at most) for their Done, then send the
//      restart's signal (or SIGSTOP to an image taken while stopped). Every restored
//      process is busy-locked until then, so a checkpoint of it fails with EBUSY.
// Until the detach the stub is a Tracee that kills and reaps it on any error.
#include "restore/restorer.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <cstring>

#include "base/fd.h"
#include "base/scope_exit.h"
#include "checkpoint/busy_lock.h"
#include "attrs/attribute_table.h"
#include "libcr/protocol.h"
#include "sys/io.h"
#include "sys/procfs.h"
#include "fds/deleted_file.h"
#include "records/process_tree_record.h"
#include "restore/machine_check.h"
#include "restore/image_check.h"
#include "restore/restore_context.h"
#include "restore/session_ids.h"

namespace crest {

namespace {

// Whether the process group `pgid` is orphaned: none of its members has a parent in
// another group of the same session (read from /proc, as the kernel would decide).
bool pgrp_orphaned(pid_t pgid) {
  DIR* d = opendir("/proc");
  if (!d) return false;
  ScopeExit close_dir([&] { closedir(d); });
  std::map<pid_t, std::pair<pid_t, pid_t>> groups;  // pid -> (pgid, sid)
  std::vector<std::pair<pid_t, pid_t>> members;     // (member, its parent)
  while (dirent* e = readdir(d)) {
    pid_t pid = atoi(e->d_name);
    if (pid <= 0) continue;
    auto f = read_stat_fields(pid);
    if (!f || f->size() < 7) continue;
    groups[pid] = {std::stoi((*f)[5]), std::stoi((*f)[6])};
    if (groups[pid].first == pgid) members.push_back({pid, std::stoi((*f)[4])});
  }
  for (auto [member, parent] : members) {
    auto it = groups.find(parent);
    if (it != groups.end() && it->second.first != pgid && it->second.second == groups[member].second) return false;
  }
  return true;
}

// The signal that stops a restored process as it was stopped. The kernel discards
// SIGTSTP, SIGTTIN and SIGTTOU for a process of an orphaned process group: such a one is
// stopped with SIGSTOP (and its parent's waitpid reports SIGSTOP).
int stop_signal_for(const ProcessRecord& p, pid_t pid) {
  int sig = p.was_stopped == 1 ? SIGSTOP : p.was_stopped;  // 1: an older image's "stopped"
  if (sig != SIGSTOP && pgrp_orphaned(getpgid(pid))) return SIGSTOP;
  return sig;
}

struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

Result<void> restore_kernel_state(StubSession& s, const ProcessImage& image, pid_t pid) {
  auto& sys = s.sys;
  const ProcessRecord& p = image.process;
  uint64_t scratch = s.scratch;

  char comm[16] = {};
  strncpy(comm, p.comm.c_str(), 15);
  CR_TRY(s.tracee.write_memory(scratch, comm, sizeof comm));
  CR_TRY(sys.call("prctl(PR_SET_NAME)", SYS_prctl, {PR_SET_NAME, scratch}));

  // Limits: a hard limit above ours cannot be restored without CAP_SYS_RESOURCE; it is
  // kept at ours (and the soft limit clamped to it).
  for (size_t r = 0; r < p.rlimits.size() && r < RLIM_NLIMITS; ++r) {
    rlimit mine{};
    getrlimit(static_cast<__rlimit_resource>(r), &mine);
    rlimit want{p.rlimits[r].cur, p.rlimits[r].max};
    if (want.rlim_max > mine.rlim_max && geteuid() != 0) want.rlim_max = mine.rlim_max;
    if (want.rlim_cur > want.rlim_max) want.rlim_cur = want.rlim_max;
    CR_TRY(s.tracee.write_memory(scratch, &want, sizeof want));
    auto res = sys.call("prlimit64", SYS_prlimit64, {0, r, scratch, 0});
    if (!res && want.rlim_max > mine.rlim_max) {
      want.rlim_max = mine.rlim_max;
      if (want.rlim_cur > want.rlim_max) want.rlim_cur = want.rlim_max;
      CR_TRY(s.tracee.write_memory(scratch, &want, sizeof want));
      res = sys.call("prlimit64", SYS_prlimit64, {0, r, scratch, 0});
    }
    if (!res) return res.error().context(format("resource limit %zu", r));
  }

  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    const SigactionRecord& a = image.signals.actions[sig - 1];
    KernelSigaction ka{a.handler, a.flags, a.restorer, a.mask};
    CR_TRY(s.tracee.write_memory(scratch, &ka, sizeof ka));
    CR_TRY(sys.call("rt_sigaction", SYS_rt_sigaction, {static_cast<uint64_t>(sig), scratch, 0, 8}), "signal %d", sig);
  }
  CR_TRY(restore_fds_in_process(s, image));  // close-on-exec flags, epoll registrations, file locks

  // Pending signals: queued by the process to itself, so any si_code is accepted.
  for (const SiginfoRecord& si : image.signals.shared_pending) {
    if (si.info.size() != 128) return Error::corrupt("malformed pending siginfo");
    int sig;
    memcpy(&sig, si.info.data(), sizeof sig);
    CR_TRY(s.tracee.write_memory(scratch, si.info.data(), 128));
    CR_TRY(sys.call("rt_sigqueueinfo", SYS_rt_sigqueueinfo, {static_cast<uint64_t>(pid), static_cast<uint64_t>(sig), scratch}));
  }
  for (int which = 0; which < 3; ++which) {
    const ItimerRecord& it = image.signals.itimers[which];
    itimerval v{{it.interval_sec, it.interval_usec}, {it.value_sec, it.value_usec}};
    // A periodic timer that has just fired reads 0 until its signal is taken (the kernel
    // re-arms it then): arm it for the next period.
    if (v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0) v.it_value = v.it_interval;
    if (v.it_value.tv_sec == 0 && v.it_value.tv_usec == 0) continue;
    CR_TRY(s.tracee.write_memory(scratch, &v, sizeof v));
    CR_TRY(sys.call("setitimer", SYS_setitimer, {static_cast<uint64_t>(which), scratch, 0}));
  }
  return {};
}

bool is_regular_file(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

Result<Fd> spool_rest(int in) {
  Fd mem(memfd_create("crest-image-rest", MFD_CLOEXEC));
  if (!mem.valid()) return Error::os("memfd_create");
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::os("read");
    if (n == 0) break;
    CR_TRY(write_all(mem.get(), buf.data(), n));
  }
  if (lseek(mem.get(), 0, SEEK_SET) < 0) return Error::os("lseek");
  return mem;
}

// A spooled rest of the stream must end with the image's end marker: a cut stream
// (`head -c N image | cr_restart -F 0`) is reported now, not after waiting for the pid.
Result<void> check_spooled_end(int spool, const ImageReader& reader) {
  off_t size = lseek(spool, 0, SEEK_END);
  if (size < 0) return Error::os("lseek");
  char end[sizeof kEndMagic] = {};
  bool whole = size >= static_cast<off_t>(sizeof end) && pread(spool, end, sizeof end, size - sizeof end) == sizeof end &&
               memcmp(end, kEndMagic, sizeof end) == 0;
  if (lseek(spool, 0, SEEK_SET) < 0) return Error::os("lseek");
  if (!whole)
    return Error::corrupt(format("%s: image truncated at byte %llu (the stream ends without its end marker)", reader.name().c_str(),
                                 static_cast<unsigned long long>(reader.offset() + size)));
  return {};
}

// glibc keeps each thread's id in its thread descriptor, at the clear_child_tid address.
// With a new tid (--no-restore-pid) it is rewritten there, so raise() and pthread_kill()
// reach the right thread.
Result<void> fix_cached_tid(StubSession& s, const ThreadRecord& rec, pid_t now) {
  if (rec.clear_child_tid == 0 || rec.tid == now) return {};
  int32_t cached = 0;
  if (!s.tracee.read_memory(rec.clear_child_tid, &cached, sizeof cached)) return {};
  if (cached == rec.tid) CR_TRY(s.tracee.write_memory(rec.clear_child_tid, &now, sizeof now));
  return {};
}

// One process being restored.
struct Restoring {
  ProcessImage image;
  std::optional<Tracee> stub;
  std::unique_ptr<StubSession> session;
  std::vector<Tracee> threads;
  std::vector<PreparedFd> fds;
};

// Where every stub keeps its end of cr_restart's socket: above every fd of the image.
int socket_number(const std::vector<Restoring>& procs) {
  int at = 3;
  for (auto& p : procs)
    for (auto& f : p.image.fds.fds) at = std::max(at, f.fd + 1);
  return at;
}

// Everything up to the first page of memory is in `procs`, the stubs exist with their
// address spaces laid out, and their fds in place.
struct ZombieStub {
  Tracee stub;
  int wait_status;
  uint64_t area;
};

// A zombie: it runs one syscall, exit_group(status), or dies of its signal.
Result<void> make_zombie(ZombieStub& z) {
  Tracee& t = z.stub;
  if (WIFSIGNALED(z.wait_status)) {
    rlimit none{0, 0};
    prlimit(t.tid(), RLIMIT_CORE, &none, nullptr);
    CR_TRY(t.set_sigmask(0));
    // It sits in its first signal-delivery stop: detaching with the signal delivers it.
    return t.detach(WTERMSIG(z.wait_status));
  }
  auto regs = CR_TRY(t.get_regs());
  regs.rip = z.area;
  regs.rax = SYS_exit_group;
  regs.orig_rax = static_cast<uint64_t>(-1);
  regs.rdi = WEXITSTATUS(z.wait_status);
  CR_TRY(t.set_regs(regs));
  return t.detach();
}

Result<void> build_stubs(std::vector<Restoring>& procs, const std::vector<TreeEntryRecord>& zombies,
                         std::vector<ZombieStub>& zombie_stubs, const RestoreOptions& options, ImageReader& reader, Fd& spool,
                         LibcrChannels& channels, BusyLocks& locks) {
  const int sock_at = socket_number(procs);
  int sv[2] = {-1, -1};
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0) return Error::os("socketpair");
  Fd sock_local(sv[0]), sock_remote(sv[1]);

  std::vector<const ProcessImage*> images;
  for (auto& p : procs) images.push_back(&p.image);
  // Every file, FIFO, socket name and IPC object is reached with the rights of the
  // process that will hold it (as root: ActingAs; objects shared by the job: the eldest's).
  SharedFiles shared{{}, {}, channels};
  {
    ActingAs acting(acting_credentials(procs[0].image));
    CR_TRY(acting.check());
    CR_TRY(make_shared_files(images, options, shared));  // fds/fd_table_restore.cc
  }
  PreparedMap prepared;
  for (auto& p : procs) {
    ActingAs acting(acting_credentials(p.image));
    CR_TRY(acting.check(), "process %d", p.image.process.pid);
    p.fds = CR_TRY(prepare_fds(p.image, options, prepared, shared), "process %d", p.image.process.pid);
    for (auto& f : p.fds) prepared[{p.image.process.pid, f.target}] = f.local;
  }

  CR_TRY(check_session_options(images, options));  // session_ids.cc
  uint64_t area = 0;
  for (size_t i = 0; i < procs.size(); ++i) {
    Restoring& p = procs[i];
    const ProcessRecord& rec = p.image.process;
    auto parent = std::find_if(procs.begin(), procs.begin() + i, [&](const Restoring& q) { return q.image.process.pid == rec.ppid; });
    if (parent == procs.begin() + i) {
      // Top-level (its parent is not in the image): a child of cr_restart.
      Result<Tracee> spawned = spawn_stub(p.image, options, p.fds, sock_remote.get(), sock_at);
      if (!spawned && spawned.error().error_number() == EBUSY && !is_regular_file(options.in_fd) && !spool.valid()) {
        // `cr_checkpoint --kill PID | cr_restart -F 0`: the original holds its pid until
        // the whole stream is written. Take in the rest of the stream, then wait for it.
        spool = CR_TRY(spool_rest(options.in_fd), "reading the rest of the image");
        CR_TRY(check_spooled_end(spool.get(), reader));
        reader.switch_fd(spool.get());
        for (int tries = 0; tries < 200 && !spawned && spawned.error().error_number() == EBUSY; ++tries) {
          usleep(50 * 1000);
          spawned = spawn_stub(p.image, options, p.fds, sock_remote.get(), sock_at);
        }
      }
      if (!spawned) return spawned.error().context(format("process %d", rec.pid));
      p.stub.emplace(std::move(spawned).value());
      if (i == 0) {
        auto stub_maps = CR_TRY(read_maps(p.stub->tid()));
        area = CR_TRY(choose_area(images, stub_maps, StubSession::kAreaSize));
      }
      p.session = CR_TRY(start_stub_session(*p.stub, area), "process %d", rec.pid);
      // Its exec gave it root's filesystem ids back: the files it maps are opened with its own.
      CR_TRY(act_as_in_stub(p.session->sys, *p.stub, p.session->scratch, acting_credentials(p.image)), "process %d", rec.pid);
    } else {
      std::string exe = relocate_path(rec.exe, options.relocations);
      const char* deleted = " (deleted)";
      if (exe.size() > strlen(deleted) && exe.compare(exe.size() - strlen(deleted), std::string::npos, deleted) == 0)
        exe.resize(exe.size() - strlen(deleted));
      p.stub.emplace(CR_TRY(fork_child_stub(*parent->session, rec.pid, !options.restore_pid, exe,
                                                  acting_credentials(p.image)), "process %d", rec.pid));
      p.session = CR_TRY(start_stub_session(*p.stub, area), "process %d", rec.pid);
      CR_TRY(setup_child_basics(*p.session, p.image, relocate_path(rec.cwd, options.relocations)), "process %d", rec.pid);
      CR_TRY(install_fds(*p.session, sock_local.get(), sock_at, p.fds, p.image.fds), "process %d", rec.pid);
    }
    // Part of this restart until it is done: a checkpoint of it fails with EBUSY.
    CR_TRY(locks.take(p.stub->tid()), "process %d", rec.pid);
    // Before its children exist, so that they inherit the session and group.
    CR_TRY(restore_session_and_group(*p.session, rec, options), "process %d", rec.pid);
  }
  shared.pipes.clear();  // every end is held by the prepared fds now
  shared.sockets.clear();
  SharedMemory shm;
  {
    ActingAs acting(acting_credentials(procs[0].image));  // System V segments are found and made as the job
    CR_TRY(acting.check());
    shm = CR_TRY(make_shared_memory(images, deleted_file_objects(images, prepared)));
  }
  for (auto& p : procs) close_prepared(p.fds);
  shm.sock_local = sock_local.get();
  shm.sock_remote = sock_at;
  for (auto& p : procs) CR_TRY(replace_address_space(*p.session, p.image, options, shm), "process %d", p.image.process.pid);
  // Segments that were marked for removal are marked again, now that they are attached.
  for (int id : shm.sysv_remove) shmctl(id, IPC_RMID, nullptr);
  // Zombies: forked by their parent's stub, they exit as they did once everything runs.
  for (const TreeEntryRecord& z : zombies) {
    auto parent = std::find_if(procs.begin(), procs.end(), [&](const Restoring& q) { return q.image.process.pid == z.ppid; });
    if (parent == procs.end()) return Error::corrupt(format("zombie %d has no parent in the image", z.pid));
    zombie_stubs.push_back({CR_TRY(inject_clone3(*parent->session, 0, z.pid, !options.restore_pid, "zombie"), "zombie %d", z.pid),
                            z.wait_status, area});
  }
  return {};
}

// Last of what needs root (its children and threads exist: creating them with set_tid
// needed it): each thread's own credentials. Then what the stub kept for cr_restart's
// sake is put as an exec'd process has it: no parent-death signal (the stub's SIGKILL
// against cr_restart's death is no longer needed, PTRACE_O_EXITKILL holds), dumpable
// (changing ids cleared it).
Result<void> restore_credentials(Restoring& p) {
  StubSession& s = *p.session;
  CR_TRY(restore_thread_credentials(s.sys, *p.stub, s.scratch, p.image.threads[0].creds), "main thread");
  for (size_t i = 1; i < p.image.threads.size(); ++i) {
    Tracee& t = p.threads[i - 1];
    RemoteSyscalls sys(t, s.area, s.sys.base());
    CR_TRY(restore_thread_credentials(sys, t, s.scratch, p.image.threads[i].creds), "thread %d", p.image.threads[i].tid);
  }
  CR_TRY(s.sys.call("prctl(PR_SET_PDEATHSIG)", SYS_prctl, {PR_SET_PDEATHSIG, 0}));
  CR_TRY(s.sys.call("prctl(PR_SET_DUMPABLE)", SYS_prctl, {PR_SET_DUMPABLE, 1}));
  return {};
}

// After the trailer: everything but memory, then the registers, for one process.
Result<void> finish_process(Restoring& p, const RestoreOptions& options, int sock_at) {
  StubSession& s = *p.session;
  Tracee& stub = *p.stub;
  const pid_t pid = stub.tid();
  CR_TRY(finish_memory(s, p.image));
  CR_TRY(fix_cached_tid(s, p.image.threads[0], pid));
  CR_TRY(restore_thread_kernel_state(s.sys, stub, s.scratch, p.image.threads[0], pid), "main thread");
  // The other threads, each cloned from the leader, then given its own state.
  for (size_t i = 1; i < p.image.threads.size(); ++i) {
    const ThreadRecord& rec = p.image.threads[i];
    p.threads.push_back(CR_TRY(create_thread(s, rec, !options.restore_pid), "thread %d", rec.tid));
    Tracee& t = p.threads.back();
    RemoteSyscalls sys(t, s.area, s.sys.base());
    CR_TRY(restore_thread_kernel_state(sys, t, s.scratch, rec, pid), "thread %d", rec.tid);
    CR_TRY(fix_cached_tid(s, rec, t.tid()));
  }
  CR_TRY(restore_credentials(p));
  CR_TRY(restore_kernel_state(s, p.image, pid));
  CR_TRY(s.sys.call("close", SYS_close, {static_cast<uint64_t>(sock_at)}));
  return {};
}

// The process attributes (src/attrs), once every thread exists and the credentials are
// in place (a change of credentials resets dumpable and the parent-death signal).
Result<void> restore_process_attributes(Restoring& p) {
  RestoreTarget target{p.image.process.pid, p.stub->tid(), {}, p.session->scratch};
  std::vector<RemoteSyscalls> thread_sys;
  thread_sys.reserve(p.threads.size());
  for (Tracee& t : p.threads) thread_sys.emplace_back(t, p.session->area, p.session->sys.base());
  target.threads.push_back({p.image.threads[0].tid, p.stub->tid(), &p.session->sys});
  for (size_t i = 0; i < p.threads.size(); ++i) target.threads.push_back({p.image.threads[i + 1].tid, p.threads[i].tid(), &thread_sys[i]});
  return restore_attributes(target, p.image.attributes);
}

Result<void> release_area_and_set_cpu(Restoring& p) {
  StubSession& s = *p.session;
  CR_TRY(s.sys.call("munmap", SYS_munmap, {s.area, StubSession::kAreaSize}));
  CR_TRY(restore_thread_cpu(*p.stub, p.image.threads[0]), "main thread");
  for (size_t i = 1; i < p.image.threads.size(); ++i)
    CR_TRY(restore_thread_cpu(p.threads[i - 1], p.image.threads[i]), "thread %d", p.image.threads[i].tid);
  return {};
}

// How long restarted processes with libcr get for their restart callbacks (Done).
constexpr int kLibcrDoneTimeoutMs = 5000;

// Waits for Done on each channel (a process that exits or closes its channel counts as
// done); warns about those that do not answer in time. Returns, by saved pid, the
// after-restart signal each process's libcr raised itself (Done.raised).
std::map<pid_t, int> wait_libcr_done(LibcrChannels& channels, const std::map<pid_t, pid_t>& now, int timeout_ms) {
  namespace proto = libcr_proto;
  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  auto elapsed_ms = [&] {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - start.tv_sec) * 1000 + (t.tv_nsec - start.tv_nsec) / 1000000;
  };
  std::map<pid_t, int> raised;
  while (!channels.empty()) {
    long left = timeout_ms - elapsed_ms();
    if (left <= 0) {
      for (auto& [saved, fd] : channels)
        fprintf(stderr, "cr_restart: warning: process %d did not finish its restart callbacks within %d s (no Done); going on\n",
                now.count(saved) ? now.at(saved) : saved, timeout_ms / 1000);
      channels.clear();
      return raised;
    }
    std::vector<pollfd> fds;
    std::vector<pid_t> who;
    for (auto& [saved, fd] : channels) {
      fds.push_back({fd.get(), POLLIN, 0});
      who.push_back(saved);
    }
    int n = poll(fds.data(), fds.size(), static_cast<int>(std::min<long>(left, 100)));
    if (n < 0 && errno != EINTR) return raised;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      uint8_t buf[8192];
      ssize_t got = recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      proto::Done d{};
      if (got >= static_cast<ssize_t>(sizeof d)) memcpy(&d, buf, sizeof d);
      bool done = got > 0 && d.magic == proto::kMagic && d.type == proto::kDone;
      if (done) raised[who[i]] = d.raised;
      if (got <= 0 || done) channels.erase(who[i]);
    }
  }
  return raised;
}

}  // namespace

Result<pid_t> restore_process(const RestoreOptions& options) {
  ImageReader reader(options.in_fd, options.image_name);
  const ImageHeader header = CR_TRY(reader.read_header());
  ProcessTreeRecord tree = CR_TRY(read_tree(reader));
  CR_TRY(check_machine(header, tree.cpu, options));
  std::vector<TreeEntryRecord> zombies;
  for (auto& e : tree.processes)
    if (e.zombie) zombies.push_back(e);
  std::vector<ProcessImage> read = CR_TRY(read_processes(reader, tree));  // image_check.cc
  std::vector<Restoring> procs(read.size());
  std::vector<const ProcessImage*> images;
  for (size_t i = 0; i < procs.size(); ++i) {
    procs[i].image = std::move(read[i]);
    if (procs[i].image.process.root != "/")
      return Error::unsupported(format("process %d ran chrooted in %s; restoring a changed root directory is not supported yet",
                                       procs[i].image.process.pid, procs[i].image.process.root.c_str()));
    images.push_back(&procs[i].image);
  }
  CR_TRY(check_saved_credentials(images, options));  // before anything is opened or made
  for (auto& p : procs) {
    // As the process: what a file's identity tells is only what it could stat itself.
    ActingAs acting(acting_credentials(p.image));
    CR_TRY(acting.check());
    CR_TRY(check_mapped_files(p.image.process.pid, p.image.memory.files, options));
  }
  ScopeExit close_fds([&] {
    for (auto& p : procs) close_prepared(p.fds);
  });

  Fd spool;
  std::vector<ZombieStub> zombie_stubs;
  LibcrChannels channels;
  BusyLocks locks;
  CR_TRY(build_stubs(procs, zombies, zombie_stubs, options, reader, spool, channels, locks));
  std::map<pid_t, std::pair<StubSession*, const ProcessImage*>> targets;
  for (auto& p : procs) targets[p.image.process.pid] = {p.session.get(), &p.image};
  // One copy per byte: page cache -> process (image_reader.h); CREST_MAP_PAGES=0 reads
  // them into buffers instead (for measurements and tests of that path).
  if (const char* env = getenv("CREST_MAP_PAGES"); !env || strcmp(env, "0") != 0) reader.map_page_payloads();
  CR_TRY(fill_memory(targets, reader, options));
  if (!reader.complete()) return Error::corrupt(format("%s: image has no trailer", reader.name().c_str()));
  // System V semaphores and queues are global: changed only once the image is known whole.
  SysvTouched sysv_touched;
  {
    ActingAs acting(acting_credentials(procs[0].image));
    CR_TRY(acting.check());
    sysv_touched = CR_TRY(restore_sysv_ipc(images));  // sysv_ipc_restore.cc
  }

  const int sock_at = socket_number(procs);
  std::map<pid_t, pid_t> restored_pids;  // for pidfds (fds/pidfd)
  for (auto& p : procs) restored_pids[p.image.process.pid] = p.stub->tid();
  for (auto& p : procs) p.session->restored_pids = &restored_pids;
  for (auto& p : procs) CR_TRY(finish_process(p, options, sock_at), "process %d", p.image.process.pid);
  std::map<pid_t, StubSession*> sessions;
  for (auto& p : procs) sessions[p.image.process.pid] = p.session.get();
  CR_TRY(restore_sysv_ipc_pids(images, sysv_touched, sessions));
  for (auto& p : procs) CR_TRY(restore_process_attributes(p), "process %d", p.image.process.pid);
  for (auto& p : procs) CR_TRY(release_area_and_set_cpu(p), "process %d", p.image.process.pid);
  // Zombies first (they die while their parents are still stopped, so nothing has run
  // yet if this fails), then the live processes, children first, so that a parent that
  // runs on finds them running.
  for (ZombieStub& z : zombie_stubs) CR_TRY(make_zombie(z), "zombie %d", z.stub.tid());
  // A process with libcr gets its stop or signal only once its restart callbacks are
  // done (below).
  // Signals are queued before the detach, so that none of the process's code runs first;
  // but SIGKILL acts at once even on a stopped tracee (the detach would then fail with
  // ESRCH), so it is sent once the process is let go.
  for (auto it = procs.rbegin(); it != procs.rend(); ++it) {
    pid_t pid = it->stub->tid();
    std::vector<int> after_detach;
    auto send = [&](int sig) {
      if (sig == SIGKILL) {
        after_detach.push_back(sig);
      } else {
        ::kill(pid, sig);
      }
    };
    if (options.early_signal) send(options.early_signal);
    if (!channels.count(it->image.process.pid)) {
      if (it->image.process.was_stopped) ::kill(pid, stop_signal_for(it->image.process, pid));
      if (options.after_signal) send(options.after_signal);
    }
    for (Tracee& t : it->threads) CR_TRY(t.detach());
    CR_TRY(it->stub->detach());
    for (int sig : after_detach) ::kill(pid, sig);
  }
  if (!channels.empty()) {
    std::map<pid_t, pid_t> now;  // saved pid -> pid
    for (auto& p : procs) now[p.image.process.pid] = p.stub->tid();
    std::set<pid_t> cooperating;
    for (auto& [saved, fd] : channels) cooperating.insert(saved);
    // (A process stopped early cannot answer.) libcr raised the after-signal itself before
    // its handler returned (BLCR's order), all but SIGSTOP; a libcr too old to know the
    // Result's signal did not, and gets it now.
    std::map<pid_t, int> raised;
    if (options.early_signal != SIGSTOP) raised = wait_libcr_done(channels, now, kLibcrDoneTimeoutMs);
    for (auto& p : procs) {
      if (!cooperating.count(p.image.process.pid)) continue;
      if (options.after_signal) {
        if (raised[p.image.process.pid] != options.after_signal) ::kill(p.stub->tid(), options.after_signal);
      } else if (p.image.process.was_stopped) {
        ::kill(p.stub->tid(), stop_signal_for(p.image.process, p.stub->tid()));
      }
    }
  }
  return procs[0].stub->tid();
}

}  // namespace crest
