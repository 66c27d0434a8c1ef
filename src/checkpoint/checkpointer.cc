// Algorithm (one checkpoint; docs/design.md, docs/libcr.md):
//   1. busy locks on every process of the scope, the request-time checks, and the
//      cooperation of processes with libcr: signal, callbacks, their decisions
//      (cooperate.cc); PERM and TEMP end here, OMIT leaves a process out;
//   2. freeze the scope's processes (PTRACE_SEIZE + PTRACE_INTERRUPT), minus those left out;
//   3. read each one's state from outside (/proc, ptrace), then, with injected syscalls,
//      what only the process itself can tell (sigactions, sigaltstack, itimers, tid
//      address, brk); libcr's channel and request handles are marked, the image's own
//      output descriptor left out;
//   4. write the image: header, ProcessTree, then per process Process, Thread, Signals,
//      Attributes, FdTable, FileData, PipeData, SocketData, MemoryMap; then MemoryPages..., Trailer;
//   5. the early signal, thaw, Result(0) to the cooperating processes and their Done,
//      then the after-checkpoint action (at once, while frozen, for the others). The
//      Tracee destructors detach on every early return, so an error leaves the targets
//      running as they were (cooperating ones get Result(-errno)).
#include "checkpoint/checkpointer.h"

#include <signal.h>
#include <linux/kcmp.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <sstream>

#include "attrs/attribute_table.h"
#include "attrs/unsupported_state.h"
#include "checkpoint/cooperate.h"
#include "checkpoint/dump_context.h"
#include "checkpoint/frozen_process.h"
#include "checkpoint/frozen_tree.h"
#include "checkpoint/memory_attrs.h"
#include "checkpoint/memory_dump.h"
#include "checkpoint/scope_safety.h"
#include "fds/fd_table.h"
#include "fds/libcr_fds.h"
#include "fds/tcp_repair.h"
#include "records/process_tree_record.h"
#include "ptrace/injection_area.h"

#include "records/process_record.h"
#include "records/signals_record.h"
#include "records/thread_record.h"
#include "sys/cpu_features.h"
#include "sys/credentials.h"
#include "sys/io.h"
#include "sys/procfs.h"

namespace crest {

namespace {

uint64_t to_u64(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 10); }

uint64_t parse_limit(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == ' ') t.pop_back();
  while (!t.empty() && t.front() == ' ') t.erase(0, 1);
  if (t == "unlimited") return RLIM_INFINITY;
  return to_u64(t);
}

Result<std::vector<RlimitRecord>> read_limits(pid_t pid) {
  auto text = CR_TRY(read_text_file(format("/proc/%d/limits", pid)));
  std::vector<RlimitRecord> out;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.size() < 68) continue;
    out.push_back({parse_limit(line.substr(26, 21)), parse_limit(line.substr(47, 21))});
  }
  return out;
}

Result<ProcessRecord> collect_process(pid_t pid) {
  ProcessRecord p;
  auto stat = CR_TRY(read_stat_fields(pid));
  if (stat.size() < 52) return Error::corrupt("short /proc/PID/stat");
  p.pid = pid;
  p.comm = stat[2];
  p.ppid = to_u64(stat[4]);
  p.pgid = to_u64(stat[5]);
  p.sid = to_u64(stat[6]);
  p.start_code = to_u64(stat[26]);
  p.end_code = to_u64(stat[27]);
  p.start_stack = to_u64(stat[28]);
  p.start_data = to_u64(stat[45]);
  p.end_data = to_u64(stat[46]);
  p.start_brk = to_u64(stat[47]);
  p.arg_start = to_u64(stat[48]);
  p.arg_end = to_u64(stat[49]);
  p.env_start = to_u64(stat[50]);
  p.env_end = to_u64(stat[51]);
  auto status = CR_TRY(read_status(pid));
  p.umask = std::strtoul(status.get("Umask").c_str(), nullptr, 8);
  p.uids = parse_id_list(status.get("Uid"));
  p.gids = parse_id_list(status.get("Gid"));
  p.groups = parse_id_list(status.get("Groups"));
  p.exe = CR_TRY(read_link(format("/proc/%d/exe", pid)));
  p.cwd = CR_TRY(read_link(format("/proc/%d/cwd", pid)));
  p.root = CR_TRY(read_link(format("/proc/%d/root", pid)));
  auto pers = CR_TRY(read_text_file(format("/proc/%d/personality", pid)));
  p.personality = std::strtoul(pers.c_str(), nullptr, 16);
  p.rlimits = CR_TRY(read_limits(pid));
  auto auxv = CR_TRY(read_text_file(format("/proc/%d/auxv", pid)));
  p.auxv.assign(auxv.begin(), auxv.end());
  return p;
}

Result<std::vector<SiginfoRecord>> peek_pending(const Tracee& t, bool shared) {
  std::vector<SiginfoRecord> out;
  struct {
    uint64_t off;
    uint32_t flags;
    int32_t nr;
  } args{0, shared ? 1u : 0u, 32};
  for (;;) {
    uint8_t buf[32][128];
    long n = ptrace(PTRACE_PEEKSIGINFO, t.tid(), &args, buf);
    if (n < 0) return Error::os(format("ptrace(PTRACE_PEEKSIGINFO) on %d", t.tid()));
    for (long i = 0; i < n; ++i) out.push_back({std::vector<uint8_t>(buf[i], buf[i] + 128)});
    if (n < args.nr) break;
    args.off += n;
  }
  return out;
}

struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

// Where each call of a batch leaves its output in the injection area.
constexpr size_t kOutSigactions = 0;     // 64 x KernelSigaction
constexpr size_t kOutItimers = 2048;     // 3 x itimerval
constexpr size_t kOutAltstack = 2176;    // stack_t
constexpr size_t kOutTidAddress = 2208;  // u64
static_assert(sizeof(KernelSigaction) * 64 <= kOutItimers && kOutItimers + 3 * sizeof(itimerval) <= kOutAltstack);
constexpr size_t kOutProbe = 2560;       // the process attributes' scratch (src/attrs)
static_assert(kOutAltstack + sizeof(stack_t) <= kOutTidAddress && kOutTidAddress + 8 <= kOutProbe);
static_assert(kOutProbe + 512 <= InjectionArea::kOutputSize);

// State only the process itself can report, read with injected syscalls run as one batch
// per thread (InjectionArea): per thread (sigaltstack, clear_child_tid), and for the
// whole process through the leader (sigactions, itimers, brk); then the process
// attributes (src/attrs), whose units choose their calls by what earlier ones answered:
// one batch per call.
Result<void> collect_with_injection(InjectionArea& area, const Tracee& t, ThreadRecord& thread, ProcessRecord* proc,
                                    SignalsRecord* signals, pid_t pid, AttributesDump& attrs, bool skip_unsupported) {
  struct Named {
    const char* name;
    int detail;
  };
  std::vector<BatchCall> calls;
  std::vector<Named> names;
  auto add = [&](const char* name, int detail, long nr, std::initializer_list<uint64_t> args) {
    BatchCall c{nr, {}};
    size_t i = 0;
    for (uint64_t a : args) c.args[i++] = a;
    calls.push_back(c);
    names.push_back({name, detail});
  };
  if (signals) {
    for (int sig = 1; sig <= 64; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP)
        add("rt_sigaction", sig, SYS_rt_sigaction,
            {static_cast<uint64_t>(sig), 0, area.output(kOutSigactions + (sig - 1) * sizeof(KernelSigaction)), 8});
    for (int which = 0; which < 3; ++which)
      add("getitimer", which, SYS_getitimer, {static_cast<uint64_t>(which), area.output(kOutItimers + which * sizeof(itimerval))});
  }
  if (proc) add("brk", 0, SYS_brk, {0});
  add("sigaltstack", 0, SYS_sigaltstack, {0, area.output(kOutAltstack)});
  add("prctl(PR_GET_TID_ADDRESS)", 0, SYS_prctl, {PR_GET_TID_ADDRESS, area.output(kOutTidAddress)});
  add("prctl(PR_GET_SECUREBITS)", 0, SYS_prctl, {PR_GET_SECUREBITS});

  std::vector<int64_t> results = CR_TRY(area.run(t, calls), "injected syscalls in thread %d", t.tid());
  for (size_t i = 0; i < results.size(); ++i)
    if (results[i] < 0 && results[i] >= -4095)
      return Error::remote(format("%s in process %d", names[i].name, t.tid()), static_cast<int>(-results[i]))
          .context(format("%s %d", names[i].name, names[i].detail));
  uint8_t out[InjectionArea::kOutputSize];
  CR_TRY(t.read_memory(area.output(0), out, sizeof out), "reading the injected syscalls' results in thread %d", t.tid());
  if (signals) {
    for (int sig = 1; sig <= 64; ++sig) {
      KernelSigaction ka{};
      if (sig != SIGKILL && sig != SIGSTOP) memcpy(&ka, out + kOutSigactions + (sig - 1) * sizeof ka, sizeof ka);
      signals->actions.push_back({ka.handler, ka.flags, ka.restorer, ka.mask});
    }
    for (int which = 0; which < 3; ++which) {
      itimerval it{};
      memcpy(&it, out + kOutItimers + which * sizeof it, sizeof it);
      signals->itimers.push_back({it.it_interval.tv_sec, it.it_interval.tv_usec, it.it_value.tv_sec, it.it_value.tv_usec});
    }
  }
  size_t at = signals ? 62 + 3 : 0;
  if (proc) proc->brk = static_cast<uint64_t>(results[at++]);
  stack_t ss{};
  memcpy(&ss, out + kOutAltstack, sizeof ss);
  thread.altstack_sp = reinterpret_cast<uint64_t>(ss.ss_sp);
  thread.altstack_size = ss.ss_size;
  thread.altstack_flags = ss.ss_flags;
  memcpy(&thread.clear_child_tid, out + kOutTidAddress, sizeof thread.clear_child_tid);
  // Not in /proc: the thread's own answer (credentials_restore.cc sets it back).
  thread.creds.securebits = static_cast<uint32_t>(results.back());  // the batch's last call
  AreaSyscalls sys(area, t);
  CR_TRY(attrs.read_thread({pid, t.tid(), proc != nullptr, sys, area.output(kOutProbe), skip_unsupported}));
  return {};
}

Result<ThreadRecord> collect_thread(const Tracee& t) {
  ThreadRecord th;
  th.tid = t.tid();
  auto regs = CR_TRY(t.get_regs());
  th.gp_regs.assign(reinterpret_cast<uint8_t*>(&regs), reinterpret_cast<uint8_t*>(&regs) + sizeof regs);
  th.xsave = CR_TRY(t.get_xstate());
  th.sigmask = CR_TRY(t.get_sigmask());
  th.pending = CR_TRY(peek_pending(t, false));
  struct {
    uint64_t ptr;
    uint32_t len, sig, flags, pad;
  } rseq{};
  if (ptrace(static_cast<__ptrace_request>(PTRACE_GET_RSEQ_CONFIGURATION), t.tid(), sizeof rseq, &rseq) >= 0) {
    th.rseq_ptr = rseq.ptr;
    th.rseq_len = rseq.len;
    th.rseq_sig = rseq.sig;
  }
  uint64_t head = 0;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, t.tid(), &head, &len) == 0) {
    th.robust_head = head;
    th.robust_len = len;
  }
  return th;
}

// A `syscall` instruction (0f 05) the process already has, for the injection area's
// mmap and munmap: the vdso's first (its fallbacks make syscalls), else one in an
// executable area (at most kGadgetScanBytes read). Without one, the first executable file
// mapping's first two bytes are borrowed, and put back after each of those two calls.
struct Gadget {
  uint64_t address;
  bool borrowed;
};

Result<Gadget> find_syscall_gadget(const Tracee& leader, const std::vector<MapsEntry>& maps) {
  constexpr uint64_t kGadgetScanBytes = 1 << 20;
  std::vector<const MapsEntry*> order;
  for (auto& m : maps)
    if (m.exec && m.path == "[vdso]") order.push_back(&m);
  for (auto& m : maps)
    if (m.exec && m.path != "[vdso]" && m.path != "[vsyscall]") order.push_back(&m);
  uint64_t scanned = 0;
  std::vector<uint8_t> buf;
  for (const MapsEntry* m : order) {
    uint64_t len = std::min<uint64_t>(m->end - m->start, kGadgetScanBytes - scanned);
    if (len < 2) break;
    buf.resize(len);
    scanned += len;
    if (!leader.read_memory(m->start, buf.data(), len)) continue;  // unreadable: the next one
    for (size_t i = 0; i + 1 < len; ++i)
      if (buf[i] == 0x0f && buf[i + 1] == 0x05) return Gadget{m->start + i, false};
  }
  for (auto& m : maps)
    if (m.exec && m.path.size() > 0 && m.path[0] == '/') return Gadget{m.start, true};
  for (auto& m : maps)
    if (m.exec && m.path != "[vsyscall]" && m.path != "[vdso]") return Gadget{m.start, true};
  return Error::unsupported("process has no executable area to run injected syscalls from");
}

Result<void> check_leader_alive(pid_t pid) {
  auto stat = CR_TRY(read_stat_fields(pid));
  if (stat.size() > 3 && stat[3] == "Z")
    return Error::unsupported(format("the main thread of process %d has exited (pthread_exit) while others run; "
                                     "not supported yet", pid));
  return {};
}

// A safe point: cr_checkpoint was told to stop (its time limit, SIGTERM, ...); the error
// unwinds and every target is put back as it was.
Result<void> check_cancelled(const std::function<bool()>& cancelled) {
  if (cancelled && cancelled()) return Error::os("checkpoint cancelled", ECANCELED);
  return {};
}

// Everything of one frozen process but its pages.
struct ProcessDump {
  ProcessRecord proc;
  SignalsRecord signals;
  AttributesDump attrs;  // src/attrs
  std::vector<ThreadRecord> threads;
  FdTableRecord fds;
  MemoryMapRecord map;
  Gadget gadget{0, false};  // for the pages' injected calls (direct_pages.h)
};

Result<ProcessDump> collect(FrozenProcess& frozen, int stop_signal, bool skip_unsupported, const SaveContents& save,
                            const std::function<bool()>& cancelled) {
  const pid_t pid = frozen.pid();
  ProcessDump d;
  d.proc = CR_TRY(collect_process(pid));
  d.proc.was_stopped = static_cast<uint8_t>(stop_signal);
  d.signals.shared_pending = CR_TRY(peek_pending(frozen.leader(), true));
  for (Tracee& t : frozen.threads()) {
    d.threads.push_back(CR_TRY(collect_thread(t), "thread %d", t.tid()));
    d.threads.back().creds = CR_TRY(read_thread_credentials(pid, t.tid()), "thread %d", t.tid());
  }
  // One read of smaps serves both (injected calls map nothing), which matters for
  // processes with thousands of areas.
  auto smaps = CR_TRY(read_smaps(pid));
  std::vector<pid_t> tids;
  for (const ThreadRecord& t : d.threads) tids.push_back(t.tid);
  CR_TRY(check_unsupported_state(pid, tids, smaps, skip_unsupported));  // src/attrs: timers, locks, seccomp, ...
  {
    d.gadget = CR_TRY(find_syscall_gadget(frozen.leader(), smaps));
    auto area = CR_TRY(InjectionArea::create(frozen.leader(), d.gadget.address, d.gadget.borrowed), "process %d", pid);
    for (size_t i = 0; i < d.threads.size(); ++i) {
      CR_TRY(check_cancelled(cancelled));
      bool leader = i == 0;
      CR_TRY(collect_with_injection(*area, frozen.threads()[i], d.threads[i], leader ? &d.proc : nullptr,
                                    leader ? &d.signals : nullptr, pid, d.attrs, skip_unsupported));
    }
  }  // the area is unmapped
  d.map = CR_TRY(collect_memory_map(pid, smaps, save));
  CR_TRY(collect_memory_attributes(pid, smaps, d.map));  // locks, madvise hints; guard pages refused
  d.fds = CR_TRY(collect_fds(pid, skip_unsupported));
  return d;
}

// The descriptors the image treats specially: libcr's channel and request handles of a
// cooperating process, and any descriptor that is the image's own output (the same open
// file description as out_fd, by kcmp), which is left out: closed in a restarted process,
// as in BLCR.
void mark_special_fds(pid_t pid, FdTableRecord& table, const CoopProcess* coop, int out_fd) {
  std::set<int> removed;
  for (auto it = table.fds.begin(); it != table.fds.end();) {
    bool dup_of_removed = it->same_as >= 0 && it->same_as_pid == 0 && removed.count(it->same_as);
    if (dup_of_removed || (out_fd >= 0 && syscall(SYS_kcmp, getpid(), pid, KCMP_FILE, out_fd, it->fd) == 0)) {
      removed.insert(it->fd);
      it = table.fds.erase(it);
      continue;
    }
    if (coop) {
      bool channel = it->fd == coop->channel_fd;
      bool handle = std::find(coop->handles.begin(), coop->handles.end(), it->fd) != coop->handles.end();
      if (channel || handle) mark_libcr_fd(*it, channel);
    }
    ++it;
  }
}

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + ts.tv_nsec;
}

// After --kill: returns once every killed process is gone, so that a restart right after
// finds its pids free. A killed process whose parent is outside the checkpoint stays a
// zombie, its pid taken, until that parent reaps it: waited for 100 ms (a shell reaps at
// once), then said in a warning. Waits at most 10 s in all.
void wait_until_gone(std::vector<pid_t> pids) {
  const uint64_t start = monotonic_ns();
  const std::set<pid_t> scope(pids.begin(), pids.end());
  for (;;) {
    const uint64_t waited = monotonic_ns() - start;
    std::vector<pid_t> waiting;
    for (pid_t pid : pids) {
      auto stat = read_stat_fields(pid);
      if (!stat || stat->size() < 5) continue;  // gone
      const pid_t parent = static_cast<pid_t>(strtol((*stat)[4].c_str(), nullptr, 10));
      if ((*stat)[3] == "Z" && !scope.count(parent) && waited > 100'000'000) {
        warn(format("process %d was killed; it stays a zombie, its pid taken, until its parent %d reaps it", pid, parent));
        continue;
      }
      waiting.push_back(pid);
    }
    if (waiting.empty()) return;
    if (waited > 10'000'000'000ull) {
      for (pid_t pid : waiting) warn(format("process %d was killed but is still there after 10 s", pid));
      return;
    }
    pids = waiting;
    usleep(1000);
  }
}

// Freeze, read, write the image. On success the tree is left frozen in `tree` for the
// after-checkpoint steps; t_stop is when the first stop was requested.
Result<CheckpointStats> dump(const CheckpointOptions& opt, Cooperation& coop, std::optional<FrozenTree>& tree_out,
                             uint64_t& t_stop) {
  FreezeSpec spec;
  spec.scopes = coop.scopes();
  spec.policy = opt.trace_policy;
  spec.exclude = coop.excluded();
  spec.admit = [&](pid_t pid) { return coop.locks().take(pid); };
  t_stop = monotonic_ns();
  tree_out.emplace(CR_TRY(FrozenTree::freeze(spec)));
  FrozenTree& tree = *tree_out;
  const uint64_t t_stopped = monotonic_ns();
  std::vector<ProcessDump> dumps;
  ProcessTreeRecord tree_rec;
  tree_rec.root = tree.processes()[0].pid();
  tree_rec.cpu = this_cpu_features();
  for (FrozenProcess& fp : tree.processes()) {
    CR_TRY(check_leader_alive(fp.pid()), "process %d", fp.pid());
    // (A process with libcr was continued for its callbacks: its stop signal is not known.)
    int stopped = tree.stop_signal(fp.pid());
    if (!stopped && coop.was_stopped(fp.pid())) stopped = SIGSTOP;
    CR_TRY(check_cancelled(opt.cancelled));
    dumps.push_back(CR_TRY(collect(fp, stopped, opt.skip_unsupported, {opt.save_exe, opt.save_private, opt.save_shared}, opt.cancelled),
                           "process %d", fp.pid()));
    mark_special_fds(fp.pid(), dumps.back().fds, coop.find(fp.pid()), opt.out_fd);
    const ProcessRecord& p = dumps.back().proc;
    tree_rec.processes.push_back({p.pid, p.ppid, p.pgid, p.sid});
  }
  for (const Zombie& z : tree.zombies()) tree_rec.processes.push_back({z.pid, z.ppid, 0, 0, 1, z.wait_status});
  FdTables tables;
  for (auto& d : dumps) tables.emplace_back(d.proc.pid, &d.fds);
  CR_TRY(resolve_fds(tables, opt.skip_unsupported));  // fds/fd_table_dump.cc
  std::set<pid_t> scope_pids;
  for (auto& d : dumps) scope_pids.insert(d.proc.pid);
  SysvIpcRecord sysv_ipc = CR_TRY(collect_sysv_ipc(scope_pids));  // sysv_ipc_dump.cc

  CR_TRY(check_cancelled(opt.cancelled));
  ImageWriter writer(opt.out_fd);
  CR_TRY(writer.write_header());
  CR_TRY(writer.write_record(SectionType::ProcessTree, 0, tree_rec));
  // All metadata first, so that restore can lay out every process before pages arrive.
  uint64_t pages = 0;
  SavedObjects fd_objects_saved;
  for (size_t i = 0; i < dumps.size(); ++i) {
    ProcessDump& d = dumps[i];
    const pid_t pid = d.proc.pid;
    DumpContext ctx{pid, writer};
    CR_TRY(writer.write_record(SectionType::Process, pid, d.proc));
    for (const ThreadRecord& t : d.threads) CR_TRY(writer.write_record(SectionType::Thread, t.tid, t));
    CR_TRY(writer.write_record(SectionType::Signals, pid, d.signals));
    CR_TRY(writer.write_record(SectionType::Attributes, pid, d.attrs.record()));
    CR_TRY(writer.write_record(SectionType::FdTable, pid, d.fds));
    CR_TRY(write_fd_data(ctx, d.fds, fd_objects_saved), "process %d", pid);
    if (i == 0 && (!sysv_ipc.sem_sets.empty() || !sysv_ipc.queues.empty()))
      CR_TRY(writer.write_record(SectionType::SysvIpc, pid, sysv_ipc));  // once, with the first process
    CR_TRY(writer.write_record(SectionType::MemoryMap, pid, d.map));
  }
  const uint64_t t_metadata = monotonic_ns();
  // Then the pages of all processes through one pipeline, several processes read at
  // once (their sections interleave; restore takes them in any order).
  std::vector<ProcessPages> page_jobs;
  for (size_t i = 0; i < dumps.size(); ++i)
    page_jobs.push_back({dumps[i].proc.pid, &tree.processes()[i].leader(), &dumps[i].map, dumps[i].gadget.address,
                         dumps[i].gadget.borrowed});
  TreePagesOptions page_opt;
  page_opt.compression = opt.compression;
  page_opt.progress = opt.progress;
  if (opt.progress_total) {
    uint64_t total = 0;
    for (const ProcessDump& d : dumps) total += saved_memory_estimate(d.proc.pid);
    opt.progress_total(total);
  }
  page_opt.cancelled = opt.cancelled;
  pages = CR_TRY(write_tree_memory_pages(writer, page_jobs, page_opt));
  CR_TRY(writer.write_trailer());
  CheckpointStats stats{writer.bytes_written(), pages};
  stats.stop_ns = t_stopped - t_stop;
  stats.metadata_ns = t_metadata - t_stopped;
  stats.pages_ns = monotonic_ns() - t_metadata;
  return stats;
}

// How long cooperating processes get for their after-checkpoint callbacks (Done).
constexpr int kDoneTimeoutMs = 10000;

}  // namespace

Result<CheckpointStats> checkpoint_process(const CheckpointOptions& opt) {
  WarningSink warnings(opt.log);
  // Before anything is signalled or frozen: no kernel thread, no init of our pid
  // namespace, no ancestor of ours that the after-action would kill or stop.
  CR_TRY(check_scope_safety(scope_members(opt.scope, opt.pid), opt));
  const bool by_pid = opt.scope == Scope::Process || opt.scope == Scope::Tree;
  if (by_pid && ::kill(opt.pid, 0) != 0 && errno == ESRCH) return Error(ErrorKind::Os, ESRCH, format("no such process %d", opt.pid));
  if (by_pid) CR_TRY(check_leader_alive(opt.pid));
  // Busy locks, request-time checks, the callbacks and their decisions (docs/libcr.md 1-6).
  Cooperation coop = CR_TRY(Cooperation::start(opt));

  std::optional<FrozenTree> frozen;
  uint64_t t_stop = 0;
  // Established TCP connections stay in repair mode until the end: closed silently if
  // killed, out of repair mode again otherwise (fds/tcp_repair.h).
  TcpRepairScope tcp_repair(opt.tcp_established);
  auto dumped = dump(opt, coop, frozen, t_stop);
  if (!dumped) {
    tcp_repair.release();
    // The processes run on (the tree detaches as it is dropped); the cooperating ones
    // learn why from cr_checkpoint()'s return value.
    frozen.reset();
    int err = dumped.error().error_number();
    coop.send_results(-(err ? err : EIO));
    coop.wait_done(kDoneTimeoutMs, opt.cancelled);
    coop.restop_stopped();
    return dumped.error();
  }
  CheckpointStats stats = *dumped;
  FrozenTree& tree = *frozen;

  // Continue (step 8): the early signal; thaw; Result(0) and Done; the positive
  // after-action (for processes without libcr at once, while still frozen, as before).
  if (opt.after == AfterCheckpoint::Kill) tcp_repair.keep_for_kill();
  else tcp_repair.release();  // before anything runs again
  if (opt.early_signal)
    for (FrozenProcess& fp : tree.processes()) ::kill(fp.pid(), opt.early_signal);
  Result<void> first;
  for (auto it = tree.processes().rbegin(); it != tree.processes().rend(); ++it) {
    FrozenProcess& fp = *it;
    const bool cooperating = coop.find(fp.pid()) != nullptr;
    if (!cooperating && opt.after == AfterCheckpoint::Kill) {
      // Killed while still frozen: not one more instruction runs after the image.
      fp.kill_now();
      continue;
    }
    if (!cooperating && opt.after == AfterCheckpoint::Signal && ::kill(fp.pid(), opt.after_signal) != 0 && first)
      first = Error::os(format("kill(%d, %d) after checkpoint", fp.pid(), opt.after_signal));
    // Children first: a parent that runs on finds its children as they were.
    auto r = fp.thaw();
    if (!r && first) first = r;
  }
  stats.frozen_ns = monotonic_ns() - t_stop;
  coop.send_results(0);
  // (Processes stopped by an early SIGSTOP cannot answer.)
  if (opt.early_signal != SIGSTOP) coop.wait_done(kDoneTimeoutMs, opt.cancelled);
  if (opt.after == AfterCheckpoint::Kill) {
    coop.send_after_signal(SIGKILL);
    std::vector<pid_t> killed;
    for (FrozenProcess& fp : tree.processes()) killed.push_back(fp.pid());
    wait_until_gone(killed);
  } else if (opt.after == AfterCheckpoint::Signal) coop.send_after_signal(opt.after_signal);
  if (opt.after == AfterCheckpoint::Run) coop.restop_stopped();
  else coop.restop_omitted();
  if (!first) return first.error();
  return stats;
}

}  // namespace crest
