// The stub's address space is replaced by the image's:
//   1. at the exec stop, borrow the instruction at rip for one injected mmap of our area
//      (a `syscall` page and scratch pages) at an address free in both layouts;
//   2. unmap everything of the stub except that area and the kernel's vdso/vvar pages;
//   3. move the vdso/vvar pages to where the image had them (mremap, keeping their
//      offsets to each other; the image must come from a kernel with the same layout);
//   4. map every area of the image at its address, then stream the saved pages in
//      through /proc/PID/mem (which also writes read-only areas);
//   5. once the trailer has been verified: protections that had to be relaxed, and the
//      mm fields (brk, stack, arg/env, auxv) with prctl(PR_SET_MM_MAP).
#include <fcntl.h>
#include <linux/prctl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <cstring>

#include "image/compression.h"
#include "restore/image_check.h"
#include "restore/restore_context.h"
#include "sys/procfs.h"

namespace crest {

namespace {

constexpr uint8_t kSyscallInsn[2] = {0x0f, 0x05};

// The batch loop, written into our code page at kBatchLoopOffset: runs the syscalls of
// a table of 64-byte entries {nr, a0..a5, result} from rbx up to r12, storing each
// result, then stops on int3. Nothing else is touched (no stack).
//   loop: cmp rbx, r12; jae done
//         mov rax,[rbx]; mov rdi,[rbx+8]; mov rsi,[rbx+16]; mov rdx,[rbx+24]
//         mov r10,[rbx+32]; mov r8,[rbx+40]; mov r9,[rbx+48]; syscall
//         mov [rbx+56],rax; add rbx,64; jmp loop
//   done: int3
constexpr uint8_t kBatchLoop[] = {0x4c, 0x39, 0xe3, 0x73, 0x27, 0x48, 0x8b, 0x03, 0x48, 0x8b, 0x7b, 0x08,
                                  0x48, 0x8b, 0x73, 0x10, 0x48, 0x8b, 0x53, 0x18, 0x4c, 0x8b, 0x53, 0x20,
                                  0x4c, 0x8b, 0x43, 0x28, 0x4c, 0x8b, 0x4b, 0x30, 0x0f, 0x05, 0x48, 0x89,
                                  0x43, 0x38, 0x48, 0x83, 0xc3, 0x40, 0xeb, 0xd4, 0xcc};
constexpr uint64_t kBatchLoopOffset = 16;
constexpr uint64_t kGuard = 1ull << 20;  // kept free below stacks and around our area

}  // namespace

Result<uint64_t> choose_area(const std::vector<const ProcessImage*>& images, const std::vector<MapsEntry>& stub_maps, uint64_t size) {
  std::vector<std::pair<uint64_t, uint64_t>> taken;
  for (const ProcessImage* image : images)
    for (auto& v : image->memory.vmas) taken.emplace_back(v.start > kGuard ? v.start - kGuard : 0, v.end + kGuard);
  for (auto& m : stub_maps) taken.emplace_back(m.start > kGuard ? m.start - kGuard : 0, m.end + kGuard);
  std::sort(taken.begin(), taken.end());
  uint64_t candidate = 0x10000000;  // 256 MiB: above mmap_min_addr and the usual non-PIE text
  for (auto& [s, e] : taken) {
    if (candidate + size <= s) break;
    if (e > candidate) candidate = (e + 4095) & ~4095ull;
  }
  if (candidate + size >= 0x7ffffffff000ull) return Error::unsupported("no free address for the restore stub's code page");
  return candidate;
}

namespace {

bool is_vdso_name(const std::string& p) { return p == "[vdso]" || p == "[vvar]" || p == "[vvar_vclock]"; }

Result<uint64_t> write_string(StubSession& s, const std::string& str) {
  if (str.size() + 1 > StubSession::kAreaSize - 4096 - 512) return Error::invalid("path too long: " + str);
  CR_TRY(s.tracee.write_memory(s.scratch, str.c_str(), str.size() + 1));
  return s.scratch;
}

Result<void> move_vdso(StubSession& s, const ProcessImage& image, const std::vector<MapsEntry>& stub_maps) {
  std::vector<const VmaRecord*> want;
  for (auto& v : image.memory.vmas)
    if (v.kind == VmaKind::Vdso) want.push_back(&v);
  std::vector<const MapsEntry*> have;
  for (auto& m : stub_maps)
    if (is_vdso_name(m.path)) have.push_back(&m);
  if (want.empty()) {
    for (auto* m : have) CR_TRY(s.sys.call("munmap", SYS_munmap, {m->start, m->end - m->start}));
    return {};
  }
  bool same = want.size() == have.size();
  for (size_t i = 0; same && i < want.size(); ++i) {
    same = want[i]->path == have[i]->path && want[i]->end - want[i]->start == have[i]->end - have[i]->start &&
           want[i]->start - want[0]->start == have[i]->start - have[0]->start;
  }
  if (!same)
    return Error::incompatible("the image's vdso/vvar layout differs from this kernel's; restart on a machine running "
                               "the kernel the checkpoint was taken on");
  int64_t delta = static_cast<int64_t>(want[0]->start - have[0]->start);
  if (delta == 0) return {};
  // Moving by the same delta: ascending when moving down, descending when moving up,
  // so that no move lands on an area that has not moved yet.
  std::vector<size_t> order(have.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (delta > 0) std::reverse(order.begin(), order.end());
  for (size_t i : order) {
    uint64_t len = have[i]->end - have[i]->start;
    CR_TRY(s.sys.call("mremap", SYS_mremap, {have[i]->start, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, want[i]->start}),
           "moving %s", have[i]->path.c_str());
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<StubSession>> start_stub_session(Tracee& stub, uint64_t area) {
  auto regs = CR_TRY(stub.get_regs());
  CR_TRY(stub.write_memory(regs.rip, kSyscallInsn, 2));
  auto s = std::make_unique<StubSession>(StubSession{stub, RemoteSyscalls(stub, regs.rip, regs)});
  uint64_t got = CR_TRY(s->sys.call("mmap", SYS_mmap,
                                    {area, StubSession::kAreaSize, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, static_cast<uint64_t>(-1), 0}));
  if (got != area) return Error::os(format("stub area landed at %llx, not %llx", (unsigned long long)got, (unsigned long long)area), EINVAL);
  CR_TRY(stub.write_memory(area, kSyscallInsn, 2));
  CR_TRY(stub.write_memory(area + kBatchLoopOffset, kBatchLoop, sizeof kBatchLoop));
  CR_TRY(s->sys.call("mprotect", SYS_mprotect, {area, 4096, PROT_READ | PROT_EXEC}));
  s->area = area;
  s->scratch = area + 4096;
  // From now on: syscalls from our page, and a stack pointer inside our area (the
  // stub's stack is about to go, and sigaltstack checks the stack pointer).
  regs.rsp = area + StubSession::kAreaSize - 64;
  s->sys.set_gadget(area);
  s->sys.set_base(regs);
  return s;
}

// System V segments: the saved one if it still exists (same id, key and size), else a new
// one, with the saved id when cr_restart may set shm_next_id (CAP_CHECKPOINT_RESTORE).
Result<void> make_sysv_segments(const std::vector<const ProcessImage*>& images, SharedMemory& shm) {
  for (const ProcessImage* image : images)
    for (const SysvShmRecord& r : image->memory.sysv_shm) {
      if (shm.sysv.count(r.shmid)) continue;
      shmid_ds ds{};
      int id = -1;
      if (shmctl(r.shmid, IPC_STAT, &ds) == 0 && ds.shm_segsz == r.size && (r.key == 0 || ds.shm_perm.__key == r.key)) {
        id = r.shmid;
      } else {
        if (FILE* f = fopen("/proc/sys/kernel/shm_next_id", "w")) {
          fprintf(f, "%d", r.shmid);
          fclose(f);
        }
        int flags = IPC_CREAT | static_cast<int>(r.mode & 0777) | (r.key ? IPC_EXCL : 0);
        id = shmget(r.key ? r.key : IPC_PRIVATE, r.size, flags);
        if (id < 0 && errno == EEXIST) id = shmget(r.key, 0, 0);
        if (id < 0) return Error::os(format("recreating System V shared memory segment %d (key %d, %llu bytes)", r.shmid, r.key,
                                            (unsigned long long)r.size));
        if (id != r.shmid)
          fprintf(stderr, "cr_restart: warning: System V segment %d restored as id %d (setting its id needs "
                          "CAP_CHECKPOINT_RESTORE)\n", r.shmid, id);
      }
      shm.sysv[r.shmid] = id;
      if (r.mode & 01000 /* SHM_DEST */) shm.sysv_remove.push_back(id);
    }
  return {};
}

Result<SharedMemory> make_shared_memory(const std::vector<const ProcessImage*>& images, const std::map<uint64_t, int>& deleted_files) {
  std::map<uint64_t, std::pair<int, uint64_t>> uses;  // object_id -> areas, size
  for (const ProcessImage* image : images)
    for (const VmaRecord& v : image->memory.vmas)
      if (v.kind == VmaKind::SharedAnon && v.object_id) {
        auto& [count, size] = uses[v.object_id];
        ++count;
        size = std::max(size, v.file_offset + (v.end - v.start));
      }
  SharedMemory shm;
  CR_TRY(make_sysv_segments(images, shm));
  for (auto& [id, use] : uses) {
    auto file = deleted_files.find(id);
    if (file != deleted_files.end()) {
      // Also open as an fd (a memfd, or a deleted file): map that very file.
      Fd fd(fcntl(file->second, F_DUPFD_CLOEXEC, 0));
      if (!fd.valid()) return Error::os("fcntl(F_DUPFD_CLOEXEC)");
      struct stat st {};
      if (fstat(fd.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) < use.second &&
          ftruncate(fd.get(), static_cast<off_t>(use.second)) != 0)
        return Error::os("ftruncate of a shared file");
      shm.objects.emplace(id, std::move(fd));
      continue;
    }
    if (use.first < 2) continue;  // one area: a fresh MAP_SHARED|MAP_ANONYMOUS does
    Fd fd(memfd_create("crest-shared", MFD_CLOEXEC));
    if (!fd.valid()) return Error::os("memfd_create");
    if (ftruncate(fd.get(), static_cast<off_t>(use.second)) != 0) return Error::os("ftruncate of a shared memory object");
    shm.objects.emplace(id, std::move(fd));
  }
  return shm;
}

namespace {

// Syscalls that need nothing from us in between (the mmap of an anonymous area and its
// madvise calls), run many per stop: the table is written into the scratch pages and the
// batch loop runs it, so 10,000 small areas cost a few ptrace round trips instead of one
// per area. Errors are reported per area once the table has run (each entry runs).
class SyscallBatch {
 public:
  explicit SyscallBatch(StubSession& s) : s_(s) {}
  // An mmap that must land at v.start; errors name the area.
  Result<void> mmap(const VmaRecord& v, std::initializer_list<uint64_t> args) { return add(SYS_mmap, args, &v); }
  // A call whose failure is ignored (madvise advice, as before).
  Result<void> advise(std::initializer_list<uint64_t> args) { return add(SYS_madvise, args, nullptr); }
  Result<void> flush();

 private:
  struct Entry {
    uint64_t nr, a[6], result;
  };
  static_assert(sizeof(Entry) == 64);
  // The scratch pages but the last (the stack pointer is at their top).
  static constexpr size_t kMaxEntries = (StubSession::kAreaSize - 4096 - 4096) / sizeof(Entry);
  Result<void> add(long nr, std::initializer_list<uint64_t> args, const VmaRecord* v) {
    Entry e{static_cast<uint64_t>(nr), {}, 0};
    size_t i = 0;
    for (uint64_t a : args) e.a[i++] = a;
    entries_.push_back(e);
    areas_.push_back(v);
    if (entries_.size() == kMaxEntries) return flush();
    return {};
  }
  StubSession& s_;
  std::vector<Entry> entries_;
  std::vector<const VmaRecord*> areas_;
};

Result<void> SyscallBatch::flush() {
  if (entries_.empty()) return {};
  const Tracee& t = s_.tracee;
  const size_t bytes = entries_.size() * sizeof(Entry);
  CR_TRY(t.write_memory(s_.scratch, entries_.data(), bytes), "writing the syscall table");
  user_regs_struct r = s_.sys.base();
  r.rip = s_.area + kBatchLoopOffset;
  r.rbx = s_.scratch;
  r.r12 = s_.scratch + bytes;
  r.orig_rax = static_cast<uint64_t>(-1);
  CR_TRY(t.set_regs(r), "starting the syscall batch");
  for (;;) {
    if (ptrace(PTRACE_CONT, t.tid(), nullptr, nullptr) != 0) return Error::os(format("ptrace(PTRACE_CONT) on %d", t.tid()));
    int status = 0;
    pid_t w;
    while ((w = waitpid(t.tid(), &status, __WALL)) < 0 && errno == EINTR) {
    }
    if (w < 0) return Error::os(format("waiting for %d", t.tid()));
    if (!WIFSTOPPED(status)) return Error::gone(format("process %d ended while mapping its areas", t.tid()));
    if ((status >> 16) == PTRACE_EVENT_STOP) continue;  // a stop queued earlier: on
    if (WSTOPSIG(status) == SIGTRAP) break;             // our int3 (not delivered: the next resume drops it)
    return Error::os(format("process %d: signal %d while running the syscall batch", t.tid(), WSTOPSIG(status)), EINVAL);
  }
  auto done = CR_TRY(t.get_regs());
  if (done.rbx != s_.scratch + bytes) return Error::os(format("process %d: the syscall batch stopped early", t.tid()), EINVAL);
  CR_TRY(t.read_memory(s_.scratch, entries_.data(), bytes), "reading the syscall results");
  for (size_t i = 0; i < entries_.size(); ++i) {
    const VmaRecord* v = areas_[i];
    if (!v) continue;
    long ret = static_cast<long>(entries_[i].result);
    if (ret < 0 && ret >= -4095)
      return Error::remote(format("mmap in process %d", t.tid()), static_cast<int>(-ret))
          .context(format("mapping area %llx-%llx (%s)", (unsigned long long)v->start, (unsigned long long)v->end, v->path.c_str()));
    if (entries_[i].result != v->start)
      return Error::os(format("area %llx-%llx mapped at %llx", (unsigned long long)v->start, (unsigned long long)v->end,
                              (unsigned long long)entries_[i].result), EINVAL);
  }
  entries_.clear();
  areas_.clear();
  return {};
}

}  // namespace

Result<void> replace_address_space(StubSession& s, const ProcessImage& image, const RestoreOptions& options, SharedMemory& shm) {
  auto stub_maps = CR_TRY(read_maps(s.tracee.tid()));
  for (auto& m : stub_maps) {
    if ((m.start >= s.area && m.end <= s.area + StubSession::kAreaSize) || is_vdso_name(m.path) || m.path == "[vsyscall]") continue;
    CR_TRY(s.sys.call("munmap", SYS_munmap, {m.start, m.end - m.start}), "clearing the stub");
  }
  CR_TRY(move_vdso(s, image, stub_maps));

  SyscallBatch batch(s);
  for (const VmaRecord& v : image.memory.vmas) {
    if (v.kind == VmaKind::Vdso) continue;
    uint64_t len = v.end - v.start;
    uint64_t flags = MAP_FIXED_NOREPLACE;
    if (v.advice & kAdviceNoReserve) flags |= MAP_NORESERVE;
    if (v.advice & kAdviceGrowsDown) flags |= MAP_GROWSDOWN;
    uint64_t prot = v.prot;
    uint64_t fd = static_cast<uint64_t>(-1);
    uint64_t offset = 0;
    bool opened = false;
    switch (v.kind) {
      case VmaKind::Anonymous:
      case VmaKind::DeletedPrivate:
        flags |= MAP_PRIVATE | MAP_ANONYMOUS;
        break;
      case VmaKind::SharedAnon: {
        prot |= PROT_WRITE;  // filled below, protected again in finish_memory
        auto obj = shm.objects.find(v.object_id);
        if (obj == shm.objects.end()) {
          flags |= MAP_SHARED | MAP_ANONYMOUS;
          break;
        }
        fd = static_cast<uint64_t>(CR_TRY(pass_fd(s, shm.sock_local, shm.sock_remote, obj->second.get()), "shared memory at %llx",
                                          (unsigned long long)v.start));
        opened = true;
        offset = v.file_offset;
        flags |= MAP_SHARED;
        break;
      }
      case VmaKind::FilePrivate:
      case VmaKind::FileShared: {
        std::string path = relocate_path(v.path, options.relocations);
        uint64_t addr = CR_TRY(write_string(s, path));
        bool rw = v.kind == VmaKind::FileShared && ((v.prot & PROT_WRITE) || (v.advice & kAdviceMayWrite));
        auto r = s.sys.call("open", SYS_openat, {static_cast<uint64_t>(AT_FDCWD), addr, static_cast<uint64_t>(rw ? O_RDWR : O_RDONLY), 0});
        if (!r && rw && !(v.prot & PROT_WRITE))
          r = s.sys.call("open", SYS_openat, {static_cast<uint64_t>(AT_FDCWD), addr, O_RDONLY, 0});
        if (!r) return r.error().context(format("mapped file of area %llx-%llx (%s)", (unsigned long long)v.start, (unsigned long long)v.end, path.c_str()));
        fd = *r;
        opened = true;
        offset = v.file_offset;
        flags |= v.kind == VmaKind::FileShared ? MAP_SHARED : MAP_PRIVATE;
        break;
      }
      case VmaKind::Vdso:
        break;
      case VmaKind::SysvShm: {
        // One shmat() per attachment, at the area with offset 0; later areas of the same
        // attachment (split by mprotect) are covered by it.
        if (v.file_offset != 0) continue;
        CR_TRY(batch.flush());
        auto id = shm.sysv.find(v.object_id);
        if (id == shm.sysv.end()) return Error::corrupt(format("area %llx: unknown System V segment", (unsigned long long)v.start));
        uint64_t got = CR_TRY(s.sys.call("shmat", SYS_shmat, {static_cast<uint64_t>(id->second), v.start, 0}),
                              "attaching System V segment %d at %llx", id->second, (unsigned long long)v.start);
        if (got != v.start) return Error::os(format("System V segment attached at %llx, not %llx", (unsigned long long)got, (unsigned long long)v.start), EINVAL);
        continue;
      }
    }
    if (!opened) {
      // No fd of ours: batched, in the areas' order.
      CR_TRY(batch.mmap(v, {v.start, len, prot, flags, fd, offset}));
      if (v.advice & kAdviceDontFork) CR_TRY(batch.advise({v.start, len, MADV_DONTFORK}));
      if (v.advice & kAdviceWipeOnFork) CR_TRY(batch.advise({v.start, len, MADV_WIPEONFORK}));
      if (v.advice & kAdviceDontDump) CR_TRY(batch.advise({v.start, len, MADV_DONTDUMP}));
      continue;
    }
    CR_TRY(batch.flush());  // the areas before this one first
    auto got = s.sys.call("mmap", SYS_mmap, {v.start, len, prot, flags, fd, offset});
    if (opened) (void)s.sys.call("close", SYS_close, {fd});
    if (!got) return got.error().context(format("mapping area %llx-%llx (%s)", (unsigned long long)v.start, (unsigned long long)v.end, v.path.c_str()));
    if (*got != v.start) return Error::os(format("area %llx-%llx mapped at %llx", (unsigned long long)v.start, (unsigned long long)v.end, (unsigned long long)*got), EINVAL);
    if (v.advice & kAdviceDontFork) (void)s.sys.call("madvise", SYS_madvise, {v.start, len, MADV_DONTFORK});
    if (v.advice & kAdviceWipeOnFork) (void)s.sys.call("madvise", SYS_madvise, {v.start, len, MADV_WIPEONFORK});
    if (v.advice & kAdviceDontDump) (void)s.sys.call("madvise", SYS_madvise, {v.start, len, MADV_DONTDUMP});
  }
  return batch.flush();
}

namespace {

// Reads (and verifies) the next sections on its own thread while the caller writes the
// previous ones into the stubs, so that reading the image and filling memory overlap.
// At most kDepth sections wait in memory. Stopping it early wakes a blocked read.
class SectionPrefetcher {
 public:
  explicit SectionPrefetcher(ImageReader& reader) : reader_(reader), stop_(eventfd(0, EFD_CLOEXEC)) {
    reader_.set_cancel_fd(stop_.get());
    thread_ = std::thread([this] { run(); });
  }
  ~SectionPrefetcher() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
    cv_.notify_all();
    thread_.join();
    reader_.set_cancel_fd(-1);
  }
  // Gives back a payload the caller is done with, for a later section to be read into.
  void recycle(std::vector<uint8_t>&& buf) {
    std::lock_guard lock(mu_);
    if (spare_.size() < kDepth + 2) spare_.push_back(std::move(buf));
  }
  Result<Section> next() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty(); });
    Result<Section> s = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return s;
  }

 private:
  static constexpr size_t kDepth = 3;
  void run() {
    for (;;) {
      Result<Section> s = reader_.next_section(take_spare());
      if (s && s->type == SectionType::MemoryPagesCompressed) {
        // Decompressed here, on the reading thread, while the caller fills memory.
        auto raw = decompress_pages(s->payload, take_spare());
        if (raw) {
          s->type = SectionType::MemoryPages;
          recycle(std::move(s->payload));
          s->payload = std::move(*raw);
        } else {
          s = raw.error().context(format("%s: the MemoryPagesCompressed section of process %u", reader_.name().c_str(), s->owner));
        }
      }
      bool last = !s || s->type == SectionType::Trailer;
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return queue_.size() < kDepth || stopping_; });
      if (stopping_) return;
      queue_.push_back(std::move(s));
      cv_.notify_all();
      if (last) return;
    }
  }
  std::vector<uint8_t> take_spare() {
    std::lock_guard lock(mu_);
    if (spare_.empty()) return {};
    std::vector<uint8_t> b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }
  ImageReader& reader_;
  std::vector<std::vector<uint8_t>> spare_;
  Fd stop_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Result<Section>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// The runs of one section written into the process: up to IOV_MAX runs per
// process_vm_writev (one copy, one call for many small runs), where /proc/PID/mem takes
// one call per run and copies through a bounce page. What process_vm_writev cannot
// write (an area without write permission, or no permission to use it at all) goes
// through /proc/PID/mem, which can.
Result<void> write_runs(const Tracee& t, const std::vector<PageRun>& runs) {
  constexpr size_t kMaxIov = 1024;
  std::vector<iovec> local, remote;
  size_t i = 0;
  while (i < runs.size()) {
    size_t n = std::min(kMaxIov, runs.size() - i);
    local.resize(n);
    remote.resize(n);
    size_t want = 0;
    for (size_t k = 0; k < n; ++k) {
      local[k] = {const_cast<uint8_t*>(runs[i + k].data), runs[i + k].size};
      remote[k] = {reinterpret_cast<void*>(runs[i + k].address), runs[i + k].size};
      want += runs[i + k].size;
    }
    ssize_t done = process_vm_writev(t.tid(), local.data(), n, remote.data(), n, 0);
    if (done == static_cast<ssize_t>(want)) {
      i += n;
      continue;
    }
    if (done < 0 && errno != EFAULT) {
      // Not usable here (EPERM, ENOSYS, ...): everything through /proc/PID/mem.
      for (; i < runs.size(); ++i) CR_TRY(t.write_memory(runs[i].address, runs[i].data, runs[i].size));
      return {};
    }
    // Skip the runs written whole; the one it stopped in is finished the slow way.
    size_t left = done > 0 ? static_cast<size_t>(done) : 0;
    while (left >= runs[i].size) {
      left -= runs[i].size;
      ++i;
    }
    const PageRun& r = runs[i];
    CR_TRY(t.write_memory(r.address + left, r.data + left, r.size - left));
    ++i;
  }
  return {};
}

}  // namespace

Result<void> fill_memory(const std::map<pid_t, std::pair<StubSession*, const ProcessImage*>>& targets, ImageReader& reader,
                         const RestoreOptions& options) {
  uint64_t bytes = 0;
  std::vector<PageRun> runs;
  SectionPrefetcher prefetch(reader);
  for (;;) {
    Section sec = CR_TRY(prefetch.next());
    if (sec.type == SectionType::Trailer) return {};
    if (sec.type != SectionType::MemoryPages)
      return Error::corrupt(format("%s: unexpected %s section among the memory pages", reader.name().c_str(), section_name(sec.type)));
    auto target = targets.find(static_cast<pid_t>(sec.owner));
    if (target == targets.end())
      return Error::corrupt(format("%s: memory pages for process %u, which is not in the image", reader.name().c_str(), sec.owner));
    StubSession& s = *target->second.first;
    CR_TRY(page_runs(sec, *target->second.second, reader.name(), runs));  // image_check.cc
    CR_TRY(write_runs(s.tracee, runs));
    runs.clear();
    bytes += sec.size();
    if (options.progress) options.progress(bytes);
    prefetch.recycle(std::move(sec.payload));
  }
}

Result<void> finish_memory(StubSession& s, const ProcessImage& image) {
  for (auto& v : image.memory.vmas)
    if ((v.kind == VmaKind::SharedAnon || v.kind == VmaKind::SysvShm) && v.prot != (PROT_READ | PROT_WRITE))
      CR_TRY(s.sys.call("mprotect", SYS_mprotect, {v.start, v.end - v.start, v.prot}));
  CR_TRY(restore_area_attributes(s, image));

  const ProcessRecord& p = image.process;
  prctl_mm_map map{};
  map.start_code = p.start_code;
  map.end_code = p.end_code;
  map.start_data = p.start_data;
  map.end_data = p.end_data;
  map.start_brk = p.start_brk;
  map.brk = p.brk;
  map.start_stack = p.start_stack;
  map.arg_start = p.arg_start;
  map.arg_end = p.arg_end;
  map.env_start = p.env_start;
  map.env_end = p.env_end;
  map.exe_fd = static_cast<uint32_t>(-1);
  uint64_t auxv_addr = s.scratch + 1024;
  if (p.auxv.size() > 8192) return Error::corrupt("saved auxv is too large");
  CR_TRY(s.tracee.write_memory(auxv_addr, p.auxv.data(), p.auxv.size()));
  map.auxv = reinterpret_cast<__u64*>(auxv_addr);
  map.auxv_size = p.auxv.size();
  CR_TRY(s.tracee.write_memory(s.scratch, &map, sizeof map));
  CR_TRY(s.sys.call("prctl(PR_SET_MM_MAP)", SYS_prctl, {PR_SET_MM, PR_SET_MM_MAP, s.scratch, sizeof map, 0}));
  return {};
}

}  // namespace crest
