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
//   6. registers (an interrupted syscall is re-entered), XSAVE state, signal mask; detach.
// Until the detach the stub is a Tracee that kills and reaps it on any error.
#include "restore/restorer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/fd.h"
#include "base/scope_exit.h"
#include "sys/io.h"
#include "restore/restore_context.h"

namespace crest {

namespace {

Result<ProcessImage> read_process_sections(ImageReader& reader) {
  ProcessImage image;
  bool have[8] = {};
  for (;;) {
    Section s = CR_TRY(reader.next_section());
    switch (s.type) {
      case SectionType::Process: image.process = CR_TRY(decode_section<ProcessRecord>(s)); break;
      case SectionType::Thread: image.threads.push_back(CR_TRY(decode_section<ThreadRecord>(s))); break;
      case SectionType::Signals: image.signals = CR_TRY(decode_section<SignalsRecord>(s)); break;
      case SectionType::FdTable: image.fds = CR_TRY(decode_section<FdTableRecord>(s)); break;
      case SectionType::FileData: {
        if (s.payload.size() < 4) return Error::corrupt("short FileData section");
        int32_t fd;
        memcpy(&fd, s.payload.data(), 4);
        image.file_data[fd].assign(s.payload.begin() + 4, s.payload.end());
        break;
      }
      case SectionType::MemoryMap: image.memory = CR_TRY(decode_section<MemoryMapRecord>(s)); break;
      default:
        return Error::corrupt(format("%s: unexpected %s section before the memory map", reader.name().c_str(), section_name(s.type)));
    }
    have[static_cast<uint32_t>(s.type)] = true;
    if (s.type == SectionType::MemoryMap) break;
  }
  for (SectionType t : {SectionType::Process, SectionType::Thread, SectionType::Signals, SectionType::FdTable})
    if (!have[static_cast<uint32_t>(t)]) return Error::corrupt(format("%s: the image has no %s section", reader.name().c_str(), section_name(t)));
  for (const ThreadRecord& t : image.threads)
    if (t.gp_regs.size() != sizeof(user_regs_struct)) return Error::corrupt(format("saved registers of thread %d have the wrong size", t.tid));
  auto leader = std::find_if(image.threads.begin(), image.threads.end(), [&](const ThreadRecord& t) { return t.tid == image.process.pid; });
  if (leader == image.threads.end()) return Error::corrupt(format("the image has no main thread for process %d", image.process.pid));
  std::rotate(image.threads.begin(), leader, leader + 1);
  if (image.signals.actions.size() != 64 || image.signals.itimers.size() != 3) return Error::corrupt("malformed Signals section");
  return image;
}

struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

Result<void> restore_kernel_state(StubSession& s, const ProcessImage& image, pid_t pid, const std::vector<pid_t>& tids) {
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
  for (const FdRecord& f : image.fds.fds)
    if (f.cloexec) CR_TRY(sys.call("fcntl(F_SETFD)", SYS_fcntl, {static_cast<uint64_t>(f.fd), F_SETFD, FD_CLOEXEC}));

  // Pending signals: queued by the process to itself, so any si_code is accepted.
  for (const SiginfoRecord& si : image.signals.shared_pending) {
    if (si.info.size() != 128) return Error::corrupt("malformed pending siginfo");
    int sig;
    memcpy(&sig, si.info.data(), sizeof sig);
    CR_TRY(s.tracee.write_memory(scratch, si.info.data(), 128));
    CR_TRY(sys.call("rt_sigqueueinfo", SYS_rt_sigqueueinfo, {static_cast<uint64_t>(pid), static_cast<uint64_t>(sig), scratch}));
  }
  for (size_t i = 0; i < image.threads.size(); ++i) {
    for (const SiginfoRecord& si : image.threads[i].pending) {
      if (si.info.size() != 128) return Error::corrupt("malformed pending siginfo");
      int sig;
      memcpy(&sig, si.info.data(), sizeof sig);
      CR_TRY(s.tracee.write_memory(scratch, si.info.data(), 128));
      CR_TRY(sys.call("rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo,
                      {static_cast<uint64_t>(pid), static_cast<uint64_t>(tids[i]), static_cast<uint64_t>(sig), scratch}));
    }
  }
  for (int which = 0; which < 3; ++which) {
    const ItimerRecord& it = image.signals.itimers[which];
    if (it.value_sec == 0 && it.value_usec == 0) continue;
    itimerval v{{it.interval_sec, it.interval_usec}, {it.value_sec, it.value_usec}};
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

}  // namespace

Result<pid_t> restore_process(const RestoreOptions& options) {
  ImageReader reader(options.in_fd, options.image_name);
  CR_TRY(reader.read_header());
  ProcessImage image = CR_TRY(read_process_sections(reader));

  if (image.process.root != "/")
    return Error::unsupported(format("the process ran chrooted in %s; restoring a changed root directory is not supported yet",
                                     image.process.root.c_str()));
  std::vector<PreparedFd> fds = CR_TRY(prepare_fds(image, options));
  ScopeExit close_fds([&] { close_prepared(fds); });
  Result<Tracee> spawned = spawn_stub(image, options, fds);
  Fd spool;
  if (!spawned && spawned.error().error_number() == EBUSY && !is_regular_file(options.in_fd)) {
    // `cr_checkpoint --kill PID | cr_restart -F 0`: the original holds its pid until the
    // whole stream is written. Take in the rest of the stream, then wait for the pid.
    spool = CR_TRY(spool_rest(options.in_fd), "reading the rest of the image");
    reader.switch_fd(spool.get());
    for (int tries = 0; tries < 200 && !spawned && spawned.error().error_number() == EBUSY; ++tries) {
      usleep(50 * 1000);
      spawned = spawn_stub(image, options, fds);
    }
  }
  if (!spawned) return spawned.error();
  Tracee stub = std::move(spawned).value();
  close_prepared(fds);
  const pid_t pid = stub.tid();

  auto session = CR_TRY(start_stub_session(stub, image));
  CR_TRY(replace_address_space(*session, image, options));
  CR_TRY(fill_memory(*session, image, reader, options));
  if (!reader.complete()) return Error::corrupt(format("%s: image has no trailer", reader.name().c_str()));
  CR_TRY(finish_memory(*session, image));
  CR_TRY(fix_cached_tid(*session, image.threads[0], pid));
  CR_TRY(restore_thread_kernel_state(session->sys, stub, session->scratch, image.threads[0]), "main thread");

  // The other threads, each cloned from the leader, then given its own state.
  std::vector<Tracee> threads;
  std::vector<pid_t> tids{pid};
  for (size_t i = 1; i < image.threads.size(); ++i) {
    const ThreadRecord& rec = image.threads[i];
    threads.push_back(CR_TRY(create_thread(*session, rec, !options.restore_pid), "thread %d", rec.tid));
    Tracee& t = threads.back();
    tids.push_back(t.tid());
    RemoteSyscalls sys(t, session->area, session->sys.base());
    CR_TRY(restore_thread_kernel_state(sys, t, session->scratch, rec), "thread %d", rec.tid);
    CR_TRY(fix_cached_tid(*session, rec, t.tid()));
  }
  CR_TRY(restore_kernel_state(*session, image, pid, tids));
  CR_TRY(session->sys.call("munmap", SYS_munmap, {session->area, StubSession::kAreaSize}));

  CR_TRY(restore_thread_cpu(stub, image.threads[0]), "main thread");
  for (size_t i = 1; i < image.threads.size(); ++i)
    CR_TRY(restore_thread_cpu(threads[i - 1], image.threads[i]), "thread %d", image.threads[i].tid);
  if (image.process.was_stopped) ::kill(pid, SIGSTOP);
  if (options.after_signal) ::kill(pid, options.after_signal);
  for (Tracee& t : threads) CR_TRY(t.detach());
  CR_TRY(stub.detach());
  return pid;
}

}  // namespace crest
