#include "restore/image_check.h"

#include <linux/futex.h>
#include <sys/user.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <cstring>

#include "fds/fd_kind.h"
#include "image/compression.h"

namespace crest {

namespace {

Result<void> check_records(const ProcessImage& image) {
  for (size_t i = 0; i < image.fds.fds.size(); ++i) {
    const FdRecord& f = image.fds.fds[i];
    if (f.same_as >= 0) {  // a dup: of an earlier fd of this process, or of an earlier process
      auto earlier = image.fds.fds.begin() + i;
      if (f.same_as_pid == 0 && std::none_of(image.fds.fds.begin(), earlier, [&](const FdRecord& e) { return e.fd == f.same_as; }))
        return Error::corrupt(format("fd %d shares the file of fd %d, which is not in the image", f.fd, f.same_as));
      continue;
    }
    // Its kind, and its kind's payload decoded as the restore will (fds/fd_kind.h).
    const FdKindOps* ops = fd_kind_ops(f.kind);
    if (!ops) return Error::corrupt(format("fd %d: unknown kind %u", f.fd, static_cast<unsigned>(f.kind)));
    if (ops->print) {
      std::string ignored;
      CR_TRY(ops->print(f, ignored, 0));
    }
  }
  if (image.process.auxv.size() > 8192) return Error::corrupt("saved auxv is too large");
  // The order PR_SET_MM_MAP requires of the saved mm fields.
  const ProcessRecord& p = image.process;
  if (!(p.start_code < p.end_code && p.start_data <= p.end_data && p.start_brk <= p.brk && p.arg_start <= p.arg_end &&
        p.env_start <= p.env_end))
    return Error::corrupt("malformed Process record: its code, data, heap, argument and environment bounds are out of order");
  for (const ItimerRecord& it : image.signals.itimers)
    if (it.interval_sec < 0 || it.value_sec < 0 || it.interval_usec < 0 || it.value_usec < 0 || it.interval_usec >= 1000000 ||
        it.value_usec >= 1000000)
      return Error::corrupt("malformed Signals section: an interval timer out of range");
  for (const ThreadRecord& t : image.threads)
    if (t.robust_head && t.robust_len != sizeof(robust_list_head))
      return Error::corrupt(format("thread %d: malformed robust list length %llu", t.tid, (unsigned long long)t.robust_len));
  auto check_queue = [](const std::vector<SiginfoRecord>& queue) -> Result<void> {
    for (const SiginfoRecord& si : queue)
      if (si.info.size() != 128) return Error::corrupt("malformed pending siginfo");
    return {};
  };
  CR_TRY(check_queue(image.signals.shared_pending));
  for (const ThreadRecord& t : image.threads) CR_TRY(check_queue(t.pending), "thread %d", t.tid);
  return {};
}

}  // namespace

Result<ProcessTreeRecord> read_tree(ImageReader& reader) {
  Section s = CR_TRY(reader.next_section());
  if (s.type != SectionType::ProcessTree)
    return Error::corrupt(format("%s: the image does not start with a ProcessTree section", reader.name().c_str()));
  ProcessTreeRecord tree = CR_TRY(decode_section<ProcessTreeRecord>(s));
  if (tree.processes.empty() || tree.processes.size() > 100000) return Error::corrupt("malformed ProcessTree section");
  if (tree.processes[0].pid != tree.root) return Error::corrupt("the ProcessTree does not start with its root");
  return tree;
}

Result<ProcessImage> read_process_sections(ImageReader& reader, std::optional<Section> first) {
  ProcessImage image;
  bool have[64] = {};
  static_assert(static_cast<uint32_t>(SectionType::Attributes) < 64);
  for (;;) {
    Section s = first ? std::move(*first) : CR_TRY(reader.next_section());
    first.reset();
    switch (s.type) {
      case SectionType::Process: image.process = CR_TRY(decode_section<ProcessRecord>(s)); break;
      case SectionType::Thread: image.threads.push_back(CR_TRY(decode_section<ThreadRecord>(s))); break;
      case SectionType::Signals: image.signals = CR_TRY(decode_section<SignalsRecord>(s)); break;
      case SectionType::Attributes: image.attributes = CR_TRY(decode_section<AttributesRecord>(s)); break;
      case SectionType::FdTable: image.fds = CR_TRY(decode_section<FdTableRecord>(s)); break;
      case SectionType::FileData:
      case SectionType::PipeData:
      case SectionType::SocketData: CR_TRY(read_fd_data_section(s, image)); break;
      case SectionType::MemoryMap: image.memory = CR_TRY(decode_section<MemoryMapRecord>(s)); break;
      case SectionType::SysvIpc: image.sysv_ipc = CR_TRY(decode_section<SysvIpcRecord>(s)); break;
      default:
        return Error::corrupt(format("%s: unexpected %s section before the memory map", reader.name().c_str(), section_name(s.type)));
    }
    have[static_cast<uint32_t>(s.type) % 64] = true;
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
  // Areas in address order, page-aligned, not overlapping (restore relies on it).
  const uint64_t page = sysconf(_SC_PAGESIZE);
  uint64_t previous_end = 0;
  for (const VmaRecord& v : image.memory.vmas) {
    if (v.start >= v.end || v.start % page || v.end % page || v.start < previous_end)
      return Error::corrupt(format("%s: malformed memory map at area %llx-%llx", reader.name().c_str(),
                                   (unsigned long long)v.start, (unsigned long long)v.end));
    previous_end = v.end;
  }
  CR_TRY(check_records(image), "%s: process %d", reader.name().c_str(), image.process.pid);
  return image;
}

namespace {

std::vector<TreeEntryRecord> live_entries(const ProcessTreeRecord& tree) {
  std::vector<TreeEntryRecord> live;
  std::copy_if(tree.processes.begin(), tree.processes.end(), std::back_inserter(live), [](const TreeEntryRecord& e) { return !e.zombie; });
  return live;
}

// The processes read are the tree's live ones, in its order, and every zombie's parent is
// one of them.
Result<void> check_processes(ImageReader& reader, const ProcessTreeRecord& tree, const std::vector<ProcessImage>& images) {
  std::vector<TreeEntryRecord> live = live_entries(tree);
  if (live.empty()) return Error::corrupt("the image has no live process");
  for (size_t i = 0; i < images.size() && i < live.size(); ++i)
    if (images[i].process.pid != live[i].pid)
      return Error::corrupt(format("%s: process %d found where the tree lists %d", reader.name().c_str(), images[i].process.pid,
                                   live[i].pid));
  if (images.size() != live.size())
    return Error::corrupt(format("%s: the image holds %zu of the %zu processes its tree lists", reader.name().c_str(),
                                 images.size(), live.size()));
  for (const TreeEntryRecord& z : tree.processes) {
    if (!z.zombie) continue;
    bool parent = std::any_of(images.begin(), images.end(), [&](const ProcessImage& p) { return p.process.pid == z.ppid; });
    if (!parent) return Error::corrupt(format("zombie %d has no parent in the image", z.pid));
  }
  return {};
}

bool is_pages(const Section& s) {
  return s.type == SectionType::MemoryPages || s.type == SectionType::MemoryPagesCompressed || s.type == SectionType::Trailer;
}

}  // namespace

Result<std::vector<ProcessImage>> read_processes(ImageReader& reader, const ProcessTreeRecord& tree) {
  std::vector<ProcessImage> images;
  for (size_t i = 0, n = live_entries(tree).size(); i < n; ++i) images.push_back(CR_TRY(read_process_sections(reader)));
  CR_TRY(check_processes(reader, tree, images));
  return images;
}

Result<void> page_runs(const Section& s, const ProcessImage& image, const std::string& image_name, std::vector<PageRun>& runs) {
  const uint64_t page = sysconf(_SC_PAGESIZE);
  const auto& vmas = image.memory.vmas;
  // One or more runs: {PageRunHeader, page_count pages}...
  size_t at = 0;
  while (at < s.size()) {
    PageRunHeader h{};
    if (s.size() - at < sizeof h) return Error::corrupt(format("%s: short page run header", image_name.c_str()));
    memcpy(&h, s.bytes() + at, sizeof h);
    at += sizeof h;
    if (h.page_count == 0 || h.page_count > (s.size() - at) / page)
      return Error::corrupt(format("%s: a page run does not fit its MemoryPages section", image_name.c_str()));
    uint64_t end = h.address + h.page_count * page;
    // Areas come in address order (from /proc/PID/maps): the last one starting at or
    // below the run must hold all of it.
    auto next = std::upper_bound(vmas.begin(), vmas.end(), h.address, [](uint64_t addr, const VmaRecord& v) { return addr < v.start; });
    bool inside = next != vmas.begin() && end > h.address && end <= std::prev(next)->end &&
                  std::prev(next)->kind != VmaKind::Vdso && std::prev(next)->kind != VmaKind::FileShared;
    if (!inside)
      return Error::corrupt(format("%s: saved pages %llx-%llx lie outside every saved area", image_name.c_str(),
                                   (unsigned long long)h.address, (unsigned long long)end));
    runs.push_back({h.address, s.bytes() + at, h.page_count * page});
    at += h.page_count * page;
  }
  return {};
}

Result<VerifiedImage> verify_image(ImageReader& reader) {
  VerifiedImage v;
  v.header = CR_TRY(reader.read_header());
  v.tree = CR_TRY(read_tree(reader));
  // As read_processes, but a file of a directory image (one process of the tree, its
  // pages next) is recognised as such.
  const size_t live = live_entries(v.tree).size();
  Section s = CR_TRY(reader.next_section());
  while (v.processes.size() < live && !is_pages(s)) {
    v.processes.push_back(CR_TRY(read_process_sections(reader, std::move(s))));
    s = CR_TRY(reader.next_section());
  }
  auto listed = [&](int32_t pid) {
    return std::any_of(v.tree.processes.begin(), v.tree.processes.end(), [&](const TreeEntryRecord& e) { return e.pid == pid && !e.zombie; });
  };
  v.directory_member = live > 1 && v.processes.size() == 1 && listed(v.processes[0].process.pid);
  if (!v.directory_member) CR_TRY(check_processes(reader, v.tree, v.processes));
  std::vector<PageRun> runs;
  for (bool have = true;; have = false) {
    if (!have) s = CR_TRY(reader.next_section());
    if (s.type == SectionType::Trailer) break;
    if (s.type == SectionType::MemoryPagesCompressed) {
      s.payload = CR_TRY(decompress_pages(s.payload));
      s.type = SectionType::MemoryPages;
      ++v.compressed_sections;
    }
    if (s.type != SectionType::MemoryPages)
      return Error::corrupt(format("%s: unexpected %s section among the memory pages", reader.name().c_str(), section_name(s.type)));
    auto owner = std::find_if(v.processes.begin(), v.processes.end(), [&](const ProcessImage& p) { return p.process.pid == static_cast<int32_t>(s.owner); });
    if (owner == v.processes.end())
      return Error::corrupt(format("%s: memory pages for process %u, which is not in the image", reader.name().c_str(), s.owner));
    runs.clear();
    CR_TRY(page_runs(s, *owner, reader.name(), runs));
    for (const PageRun& r : runs) v.pages[owner->process.pid] += r.size / v.header.page_size;
    ++v.page_sections;
  }
  v.bytes = reader.offset();
  return v;
}

}  // namespace crest
