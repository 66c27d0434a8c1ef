// Memory: classify every area of /proc/PID/smaps, then write the pages that the restore
// cannot get elsewhere, in runs (PAGEMAP_SCAN finds them without touching the rest).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "base/fd.h"
#include "base/scope_exit.h"
#include "checkpoint/memory_dump.h"
#include "sys/io.h"
#include "checkpoint/direct_pages.h"
#include "checkpoint/dump_context.h"
#include "checkpoint/page_pipeline.h"
#include "checkpoint/page_runs.h"
#include "sys/pagemap_scan.h"

namespace crest {

namespace {

constexpr uint64_t kMaxRunPages = kMaxSectionPages;  // 4 MiB of data per MemoryPages section

bool ends_with(const std::string& s, const char* suffix) {
  size_t n = strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// An id for a saved shared file mapping: the same for every area and process mapping the
// file, and apart from the inode numbers of shared anonymous memory (top bit set).
uint64_t saved_file_object_id(const MapsEntry& m) {
  uint64_t dev = (static_cast<uint64_t>(m.dev_major) << 20) | m.dev_minor;
  return (1ull << 63) | ((dev << 40) ^ m.inode);
}

Result<VmaRecord> classify(const MapsEntry& m, const std::string& exe, const SaveContents& save) {
  VmaRecord v;
  v.start = m.start;
  v.end = m.end;
  v.prot = (m.read ? PROT_READ : 0) | (m.write ? PROT_WRITE : 0) | (m.exec ? PROT_EXEC : 0);
  v.file_offset = m.offset;
  if (m.has_flag("gd")) v.advice |= kAdviceGrowsDown;
  if (m.has_flag("dc")) v.advice |= kAdviceDontFork;
  if (m.has_flag("wf")) v.advice |= kAdviceWipeOnFork;
  if (m.has_flag("dd")) v.advice |= kAdviceDontDump;
  if (m.has_flag("nr")) v.advice |= kAdviceNoReserve;
  if (m.has_flag("mw")) v.advice |= kAdviceMayWrite;
  const std::string& p = m.path;
  if (p == "[vdso]" || p == "[vvar]" || p == "[vvar_vclock]") {
    v.kind = VmaKind::Vdso;
    v.path = p;
  } else if (p.empty() || p == "[heap]" || p == "[stack]" || p.rfind("[anon:", 0) == 0) {
    v.kind = m.shared ? VmaKind::SharedAnon : VmaKind::Anonymous;
    v.path = p;
    if (m.shared) v.object_id = m.inode;
  } else if (p.rfind("/SYSV", 0) == 0) {
    v.kind = VmaKind::SysvShm;
    v.object_id = m.inode;  // the shmid
    v.path = p;
  } else if (p[0] == '/') {
    if (ends_with(p, " (deleted)")) {
      v.kind = m.shared ? VmaKind::SharedAnon : VmaKind::DeletedPrivate;
      v.path = p.substr(0, p.size() - 10);
      if (m.shared) v.object_id = m.inode;
    } else {
      v.kind = m.shared ? VmaKind::FileShared : VmaKind::FilePrivate;
      v.path = p;
      // Saved by content (--save-*): every page goes into the image and the restore
      // never opens the file, so it may be deleted or changed meanwhile.
      bool save_this = m.shared ? save.shared_files : (save.private_files || (save.exe && p == exe));
      if (save_this) {
        v.advice |= kAdviceSavedFile;
        v.kind = m.shared ? VmaKind::SharedAnon : VmaKind::DeletedPrivate;
        if (m.shared) v.object_id = saved_file_object_id(m);
      }
    }
  } else {
    return Error::unsupported(format("area %llx-%llx (%s) is of a kind crest does not handle",
                                     (unsigned long long)m.start, (unsigned long long)m.end, p.c_str()));
  }
  return v;
}

bool scanned_kind(const VmaRecord& v) { return v.kind == VmaKind::Anonymous || v.kind == VmaKind::FilePrivate; }

// The present or swapped pages of the private areas of one process, asked for area by area
// in address order, found by one PAGEMAP_SCAN walk over each run of consecutive private
// areas (holes between them cost nothing) instead of one ioctl per area: 10,000 one-page
// areas take 20 calls instead of 10,000.
class PresentPages {
 public:
  PresentPages(int pagemap, const std::vector<VmaRecord>& vmas) : pagemap_(pagemap), vmas_(vmas) {}

  // The regions of vmas[i], clipped to it; i must be of a scanned kind and larger than
  // the previous call's.
  Result<void> of(size_t i, std::vector<PageRegion>& out) {
    const VmaRecord& v = vmas_[i];
    out.clear();
    if (walked_to_ <= v.start) start_span(i);
    for (;;) {
      while (next_ < count_ && regions_[next_].end <= v.start) ++next_;
      for (size_t k = next_; k < count_ && regions_[k].start < v.end; ++k)
        out.push_back({std::max(regions_[k].start, v.start), std::min(regions_[k].end, v.end), regions_[k].categories});
      if (walked_to_ >= v.end) return {};
      CR_TRY(scan_more());
    }
  }

 private:
  // A new walk from vmas[i] to the end of the run of scanned areas it begins.
  void start_span(size_t i) {
    size_t j = i;
    while (j + 1 < vmas_.size() && scanned_kind(vmas_[j + 1])) ++j;
    walked_to_ = vmas_[i].start;
    span_end_ = vmas_[j].end;
    count_ = next_ = 0;
  }

  // The next batch of regions of the current walk (replacing the previous batch).
  Result<void> scan_more() {
    PmScanArg arg{};
    arg.size = sizeof arg;
    arg.start = walked_to_;
    arg.end = span_end_;
    arg.vec = reinterpret_cast<uint64_t>(regions_);
    arg.vec_len = kBatch;
    arg.category_anyof_mask = kPageIsPresent | kPageIsSwapped;
    arg.return_mask = kPageIsPresent | kPageIsSwapped | kPageIsFile | kPageIsPfnZero;
    int n = ioctl(pagemap_, kPagemapScan, &arg);
    if (n < 0)
      return Error::os(format("ioctl(PAGEMAP_SCAN) on %llx-%llx", (unsigned long long)walked_to_,
                              (unsigned long long)span_end_));
    count_ = static_cast<size_t>(n);
    next_ = 0;
    // A walk that does not advance ends here (what it found is kept), as one that is done.
    walked_to_ = arg.walk_end > walked_to_ ? arg.walk_end : span_end_;
    return {};
  }

  static constexpr size_t kBatch = 512;
  int pagemap_;
  const std::vector<VmaRecord>& vmas_;
  PageRegion regions_[kBatch];
  size_t count_ = 0, next_ = 0;
  uint64_t walked_to_ = 0, span_end_ = 0;
};

// Page ranges of vmas[i] holding data the restore needs.
Result<std::vector<std::pair<uint64_t, uint64_t>>> pages_to_save(PresentPages& present, const std::vector<VmaRecord>& vmas,
                                                                 size_t i) {
  const VmaRecord& v = vmas[i];
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (v.kind == VmaKind::SharedAnon || v.kind == VmaKind::DeletedPrivate || v.kind == VmaKind::SysvShm) {
    uint64_t end = v.end;
    struct stat st {};
    if ((v.advice & kAdviceSavedFile) && ::stat(v.path.c_str(), &st) == 0) {
      // Whole pages past the end of the file cannot be read (they would raise SIGBUS):
      // they are left out and come back as zeros.
      uint64_t page = sysconf(_SC_PAGESIZE);
      uint64_t in_file = static_cast<uint64_t>(st.st_size) > v.file_offset ? st.st_size - v.file_offset : 0;
      end = std::min(end, v.start + (in_file + page - 1) / page * page);
    }
    if (end > v.start) out.emplace_back(v.start, end);
    return out;
  }
  if (!scanned_kind(v)) return out;
  std::vector<PageRegion> regions;
  CR_TRY(present.of(i, regions));
  for (const PageRegion& r : regions) {
    if (r.categories & kPageIsPfnZero) continue;  // the shared zero page: nothing to save
    if (v.kind == VmaKind::FilePrivate && (r.categories & kPageIsFile)) continue;  // same as the file
    if (!out.empty() && out.back().second == r.start)
      out.back().second = r.end;
    else
      out.emplace_back(r.start, r.end);
  }
  return out;
}

}  // namespace

// /proc/sysvipc/shm: "key shmid perms size cpid lpid nattch uid gid ..."
Result<SysvShmRecord> read_sysv_shm(int shmid) {
  auto text = CR_TRY(read_text_file("/proc/sysvipc/shm"));
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    long long key, id, size;
    unsigned perms;
    if (sscanf(line.c_str(), "%lld %lld %o %lld", &key, &id, &perms, &size) != 4) continue;
    if (id == shmid) return SysvShmRecord{shmid, static_cast<int32_t>(key), static_cast<uint64_t>(size), perms};
  }
  return Error::unsupported(format("System V shared memory segment %d is not in /proc/sysvipc/shm", shmid));
}

Result<MemoryMapRecord> collect_memory_map(pid_t pid, const std::vector<MapsEntry>& maps, const SaveContents& save) {
  MemoryMapRecord rec;
  std::string exe;
  if (save.exe) exe = CR_TRY(read_link(format("/proc/%d/exe", pid)));
  for (const MapsEntry& m : maps) {
    if (m.path == "[vsyscall]") continue;  // fixed by the kernel, the same in every process
    rec.vmas.push_back(CR_TRY(classify(m, exe, save)));
    const VmaRecord& v = rec.vmas.back();
    if (v.kind == VmaKind::FilePrivate &&
        std::none_of(rec.files.begin(), rec.files.end(), [&](const MappedFileRecord& f) { return f.path == v.path; }))
      rec.files.push_back(CR_TRY(mapped_file_identity(pid, m, v.path)));
    if (v.kind == VmaKind::SysvShm &&
        std::none_of(rec.sysv_shm.begin(), rec.sysv_shm.end(), [&](const SysvShmRecord& r) { return r.shmid == (int)v.object_id; }))
      rec.sysv_shm.push_back(CR_TRY(read_sysv_shm(static_cast<int>(v.object_id))));
  }
  return rec;
}

namespace {

// Which parts of shared memory objects have been claimed for saving, across the
// processes (and reader threads) of one checkpoint.
class SharedClaims {
 public:
  explicit SharedClaims(SharedObjectsSaved& saved) : saved_(saved) {}
  // True if [lo, hi) of object `id` is this caller's to save (it is claimed now); false
  // if an earlier claim covers it.
  bool claim(uint64_t id, uint64_t lo, uint64_t hi) {
    std::lock_guard lock(mu_);
    auto& covered = saved_[id];
    for (auto [a, b] : covered)
      if (a <= lo && hi <= b) return false;
    covered.emplace_back(lo, hi);
    return true;
  }

 private:
  std::mutex mu_;
  SharedObjectsSaved& saved_;
};

// One copy from the target's pages into ours (process_vm_readv), where /proc/PID/mem
// copies each page twice (through a kernel bounce page) and takes the target's mmap lock
// per page. What it cannot read (no read permission: PROT_NONE or write-only areas) is
// read through /proc/PID/mem, which can.
Result<void> read_pages(const Tracee& tracee, pid_t pid, uint64_t addr, uint8_t* out, size_t size) {
  while (size > 0) {
    iovec local{out, size};
    iovec remote{reinterpret_cast<void*>(addr), size};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0) return tracee.read_memory(addr, out, size);
    out += n;
    addr += n;
    size -= n;
  }
  return {};
}

// What a reader of one process needs from the checkpoint as a whole.
struct ReaderShared {
  PagePipeline& pipeline;
  ImageWriter& writer;
  bool direct;                                     // the direct path may be used (from the tracer thread)
  SharedClaims& claims;
  std::function<bool()> cancelled;
  std::function<bool()> abandoned;                 // another reader failed: stop quietly
  std::function<void(size_t)> queued;              // a section of this many bytes was submitted
};

// A run of pages waiting in a buffer for its bytes: its header and pages go at `slot`.
struct PendingRun {
  uint64_t addr;
  uint64_t pages;
  size_t slot;
  bool keep_zeros;
};

// Reads every pending run into its slot with one process_vm_readv per 1024 runs (IOV_MAX),
// where one call per run cost a tenth of a checkpoint of 10,000 one-page areas. A run the
// call cannot read in full (no read permission) is finished the slow way.
Result<void> read_runs(const Tracee& tracee, pid_t pid, uint8_t* base, const std::vector<PendingRun>& runs, size_t page) {
  constexpr size_t kMaxIov = 1024;
  std::vector<iovec> local(std::min(kMaxIov, runs.size())), remote(local.size());
  for (size_t i = 0; i < runs.size();) {
    size_t k = 0;
    for (; k < local.size() && i + k < runs.size(); ++k) {
      const PendingRun& r = runs[i + k];
      local[k] = {base + r.slot + sizeof(PageRunHeader), r.pages * page};
      remote[k] = {reinterpret_cast<void*>(r.addr), r.pages * page};
    }
    ssize_t n = process_vm_readv(pid, local.data(), k, remote.data(), k, 0);
    size_t got = n > 0 ? static_cast<size_t>(n) : 0;
    size_t done = 0;
    while (done < k && got >= local[done].iov_len) got -= local[done].iov_len, ++done;
    if (done < k) {
      const PendingRun& r = runs[i + done];
      CR_TRY(read_pages(tracee, pid, r.addr + got, base + r.slot + sizeof(PageRunHeader) + got, r.pages * page - got));
      ++done;
    }
    i += done;
  }
  return {};
}

// Packs the runs read into `base` one after the other (zero pages dropped where they
// may be); returns the payload size.
size_t pack_pending(uint8_t* base, const std::vector<PendingRun>& runs, size_t page) {
  size_t out = 0;
  for (const PendingRun& r : runs) {
    uint8_t* at = base + out;
    // An earlier run lost zero pages: move this one down to where the payload ends.
    if (out != r.slot) memmove(at + sizeof(PageRunHeader), base + r.slot + sizeof(PageRunHeader), r.pages * page);
    // Pages that hold only zeros need not be stored where a fresh page is zero already
    // (anything but a private file mapping): they become holes.
    out += r.keep_zeros ? pack_runs_keep_zeros(at, r.addr, r.pages, page) : pack_runs_skip_zeros(at, r.addr, r.pages, page);
  }
  return out;
}

// Reads the pages of one process into the pipeline, one section per buffer; runs of
// small areas share a section (and one read). Returns the pages read.
// Runs at least this long go through DirectPages when they can: shorter ones are cheaper
// to gather in a buffer (one process_vm_readv for many) than one injected batch each.
constexpr uint64_t kDirectMinBytes = 256 << 10;

Result<uint64_t> read_process_pages(ReaderShared& shared, const ProcessPages& job) {
  const pid_t pid = job.pid;
  const Tracee& tracee = *job.tracee;
  const MemoryMapRecord& map = *job.map;
  Fd pagemap(::open(format("/proc/%d/pagemap", pid).c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) return Error::os(format("open /proc/%d/pagemap", pid));
  const uint64_t page = sysconf(_SC_PAGESIZE);
  const size_t capacity = sizeof(PageRunHeader) + kMaxRunPages * page;
  PagePipeline& pipeline = shared.pipeline;
  PresentPages present(pagemap.get(), map.vmas);
  uint64_t pages = 0;
  PageBuffer* buf = nullptr;  // the section being filled
  size_t reserved = 0;        // bytes of it taken by pending runs
  std::vector<PendingRun> pending;
  std::unique_ptr<DirectPages> direct;  // made at the first run that can take it
  bool direct_tried = !shared.direct || job.gadget == 0;
  // Every buffer goes back to the pipeline, also on an early return.
  ScopeExit give_back([&] {
    if (buf) pipeline.release(buf);
  });
  auto flush = [&]() -> Result<void> {
    if (!buf) return {};
    CR_TRY(read_runs(tracee, pid, buf->data(), pending, page));
    size_t used = pack_pending(buf->data(), pending, page);
    pending.clear();
    if (used == 0) {
      pipeline.release(buf);
    } else {
      // A compressed section gets the checksum of its compressed bytes (the writer's).
      uint64_t checksum = pipeline.compressing() ? 0 : XXH3_64bits(buf->data(), used);
      pipeline.submit(buf, used, checksum, static_cast<uint32_t>(pid));
      shared.queued(used);
    }
    buf = nullptr;
    return {};
  };
  for (size_t i = 0; i < map.vmas.size(); ++i) {
    const VmaRecord& v = map.vmas[i];
    // Shared memory seen through an earlier area (of this or another process) is saved
    // once: its pages reach every mapping of the object at restore.
    if ((v.kind == VmaKind::SharedAnon || v.kind == VmaKind::SysvShm) &&
        !shared.claims.claim(v.object_id, v.file_offset, v.file_offset + (v.end - v.start)))
      continue;
    auto ranges = CR_TRY(pages_to_save(present, map.vmas, i), "area %llx-%llx", (unsigned long long)v.start,
                         (unsigned long long)v.end);
    // Private readable memory (what a frozen process cannot change behind us), in long
    // runs: the direct path.
    const bool direct_kind = scanned_kind(v) && (v.prot & PROT_READ);
    for (auto [start, end] : ranges) {
      if (direct_kind && end - start >= kDirectMinBytes && !direct_tried) {
        direct_tried = true;
        auto opened = DirectPages::open(shared.writer, tracee, pid, job.gadget, job.gadget_borrowed);
        if (opened) direct = std::move(*opened);  // else (no pipes in it: its fd limit, ...) buffered
      }
      if (direct_kind && end - start >= kDirectMinBytes && direct) {
        for (uint64_t a = start; a < end;) {
          if (shared.cancelled && shared.cancelled()) return Error::timed_out("checkpoint cancelled (time limit)");
          if (shared.abandoned()) return pages;
          uint64_t n = std::min<uint64_t>((end - a) / page, kMaxRunPages);
          auto image = pipeline.exclusive();
          size_t bytes = CR_TRY(direct->write_range(a, n, v.kind == VmaKind::FilePrivate));
          shared.queued(bytes);
          pages += n;
          a += n * page;
        }
        continue;
      }
      for (uint64_t a = start; a < end;) {
        if (shared.cancelled && shared.cancelled()) return Error::timed_out("checkpoint cancelled (time limit)");
        if (shared.abandoned()) return pages;
        // Runs of small areas share one section: fill the current buffer while it has
        // room for a run header and at least one page.
        if (buf && reserved + sizeof(PageRunHeader) + page > capacity) CR_TRY(flush());
        if (!buf) {
          buf = CR_TRY(pipeline.acquire());
          reserved = 0;
        }
        uint64_t room = (capacity - reserved - sizeof(PageRunHeader)) / page;
        uint64_t n = std::min<uint64_t>((end - a) / page, room);
        pending.push_back({a, n, reserved, v.kind == VmaKind::FilePrivate});
        reserved += sizeof(PageRunHeader) + n * page;
        pages += n;
        a += n * page;
      }
    }
  }
  CR_TRY(flush());
  return pages;
}

constexpr size_t kMaxReaders = 3;

}  // namespace

Result<uint64_t> write_tree_memory_pages(ImageWriter& writer, const std::vector<ProcessPages>& processes,
                                         const TreePagesOptions& options) {
  if (processes.empty()) return uint64_t{0};
  size_t readers = options.readers;
  // One CPU is the writer's: on 2 CPUs a second reader only takes time from it (tree-16:
  // 0.474 s with two readers, 0.441 s with one; docs/performance.md).
  if (readers == 0) readers = std::clamp<long>(sysconf(_SC_NPROCESSORS_ONLN) - 1, 1, static_cast<long>(kMaxReaders));
  // CREST_DUMP_READERS=N (1-3) overrides it, for tests and measurements.
  if (const char* env = getenv("CREST_DUMP_READERS"); env && options.readers == 0)
    readers = std::clamp(strtol(env, nullptr, 10), 1L, static_cast<long>(kMaxReaders));
  readers = std::min(readers, processes.size());
  const size_t capacity = sizeof(PageRunHeader) + kMaxRunPages * sysconf(_SC_PAGESIZE);
  // Each reader fills one buffer while the writers hold one each and a few wait queued:
  // one reader, 4 x 4 MiB; three, 8 x 4 MiB.
  PagePipeline pipeline(writer, 2 * readers + 2, capacity, options.compression);
  // The vmsplice path is opt-in (CREST_DIRECT_PAGES=1): a SIGKILL of cr_checkpoint while
  // it runs leaves its pipes' write ends open in the target (docs/design.md, "Interrupted
  // checkpoints"), and cold it did not beat the buffered path (docs/performance.md).
  const char* direct_env = getenv("CREST_DIRECT_PAGES");
  const bool direct = options.direct && !pipeline.compressing() && writer.in_place() && direct_env && strcmp(direct_env, "1") == 0;

  SharedObjectsSaved saved;
  SharedClaims claims(saved);
  std::mutex mu;  // progress, the next process, the first error
  uint64_t queued_total = 0;
  size_t next = 0;
  std::optional<Error> first_error;
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> pages{0};

  // Only the calling thread (the tracer: ptrace requests come from it) injects calls.
  const std::thread::id tracer = std::this_thread::get_id();
  auto reader = [&] {
    // Per reader: its own partial count, so progress never goes backwards.
    ReaderShared shared{pipeline, writer, direct && std::this_thread::get_id() == tracer, claims, options.cancelled, [&] { return failed.load(std::memory_order_relaxed); },
                        [&](size_t bytes) {
                          std::lock_guard lock(mu);
                          queued_total += bytes;
                          if (options.progress) options.progress(queued_total);
                        }};
    for (;;) {
      size_t i;
      {
        std::lock_guard lock(mu);
        if (next == processes.size() || first_error) return;
        i = next++;
      }
      const ProcessPages& p = processes[i];
      auto r = read_process_pages(shared, p);
      if (r) {
        pages += *r;
        continue;
      }
      std::lock_guard lock(mu);
      if (!first_error) first_error = r.error().context(format("process %d", p.pid));
      failed = true;
      return;
    }
  };
  // The extra readers start after the pipeline blocked the caller's signals, so they
  // inherit that mask: asynchronous signals go to the writers.
  std::vector<std::thread> threads;
  for (size_t i = 1; i < readers; ++i) threads.emplace_back(reader);
  reader();
  for (auto& t : threads) t.join();
  if (first_error) return *first_error;
  CR_TRY(pipeline.finish());
  return pages.load();
}

}  // namespace crest
