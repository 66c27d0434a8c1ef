// cr_info's default output: what an image holds, in a screenful.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "info.h"
#include "info_names.h"

namespace crest {

namespace {

void print_memory(const ProcessImage& p, uint64_t pages, uint64_t page_size, FILE* out) {
  struct Kind {
    size_t areas = 0;
    uint64_t bytes = 0;
  };
  std::map<std::string, Kind> kinds;
  uint64_t mapped = 0;
  for (const VmaRecord& v : p.memory.vmas) {
    Kind& k = kinds[vma_kind_name(v.kind)];
    ++k.areas;
    k.bytes += v.end - v.start;
    mapped += v.end - v.start;
  }
  fprintf(out, "  memory: %zu areas, %s mapped, %s saved\n", p.memory.vmas.size(), byte_size(mapped).c_str(),
          byte_size(pages * page_size).c_str());
  for (const auto& [name, k] : kinds) fprintf(out, "    %-17s %4zu areas %12s\n", name.c_str(), k.areas, byte_size(k.bytes).c_str());
}

void print_files(const ProcessImage& p, FILE* out) {
  std::map<std::string, size_t> kinds;
  for (const FdRecord& f : p.fds.fds) ++kinds[fd_kind_label(f.kind)];
  std::string counts;
  for (const auto& [name, n] : kinds) counts += format("%s%zu %s", counts.empty() ? "" : ", ", n, name.c_str());
  fprintf(out, "  files: %zu%s%s\n", p.fds.fds.size(), counts.empty() ? "" : " (", counts.empty() ? "" : (counts + ")").c_str());
  for (const FdRecord& f : p.fds.fds) {
    std::string what = f.path;  // a path, or "pipe:[N]", "socket:[N]", "anon_inode:[eventfd]"...
    if (f.same_as >= 0)
      what += f.same_as_pid ? format(" (shared with fd %d of process %d)", f.same_as, f.same_as_pid) : format(" (shared with fd %d)", f.same_as);
    fprintf(out, "    %4d %-13s %s\n", f.fd, fd_kind_label(f.kind).c_str(), what.c_str());
  }
}

void print_signals(const ProcessImage& p, FILE* out) {
  std::string handled, ignored;
  for (int sig = 1; sig <= static_cast<int>(p.signals.actions.size()); ++sig) {
    uint64_t h = p.signals.actions[sig - 1].handler;
    if (h == reinterpret_cast<uint64_t>(SIG_DFL)) continue;
    std::string& list = h == reinterpret_cast<uint64_t>(SIG_IGN) ? ignored : handled;
    list += (list.empty() ? "" : " ") + signal_name(sig);
  }
  if (!handled.empty()) fprintf(out, "  signal handlers: %s\n", handled.c_str());
  if (!ignored.empty()) fprintf(out, "  signals ignored: %s\n", ignored.c_str());
  std::string pending;
  for (const SiginfoRecord& si : p.signals.shared_pending) {
    int sig = 0;
    memcpy(&sig, si.info.data(), sizeof sig);
    pending += (pending.empty() ? "" : " ") + signal_name(sig);
  }
  if (!pending.empty()) fprintf(out, "  signals pending: %s\n", pending.c_str());
}

void print_limits(const ProcessRecord& p, FILE* out) {
  std::string line;
  for (size_t r = 0; r < p.rlimits.size(); ++r) {
    const RlimitRecord& l = p.rlimits[r];
    if (l.cur == RLIM_INFINITY && l.max == RLIM_INFINITY) continue;
    line += format(" %s=%s", rlimit_name(r).c_str(), limit_value(r, l.cur).c_str());
    if (l.max != l.cur) line += "/" + limit_value(r, l.max);
  }
  if (!line.empty()) fprintf(out, "  limits (soft/hard, the unlimited left out):%s\n", line.c_str());
}

}  // namespace

void print_summary(const std::string& name, const VerifiedImage& image, FILE* out) {
  const ImageHeader& h = image.header;
  fprintf(out, "image %s: %s, complete, every checksum verified\n", name.c_str(), byte_size(image.bytes).c_str());
  fprintf(out, "  written by crest %.24s on Linux %.64s, %s, %u-byte pages, format %u\n", h.crest_version, h.kernel_release,
          arch_name(h.arch).c_str(), h.page_size, h.format_version);
  if (image.directory_member)
    fprintf(out, "  the file of process %d of a directory image of %zu processes (cr_restart -d restores them together)\n",
            image.processes[0].process.pid, image.tree.processes.size());
  uint64_t threads = 0, pages = 0;
  for (const ProcessImage& p : image.processes) threads += p.threads.size();
  for (const auto& [pid, n] : image.pages) pages += n;
  size_t zombies = std::count_if(image.tree.processes.begin(), image.tree.processes.end(), [](const TreeEntryRecord& e) { return e.zombie; });
  fprintf(out, "  %zu process%s, %llu thread%s", image.processes.size(), image.processes.size() == 1 ? "" : "es",
          static_cast<unsigned long long>(threads), threads == 1 ? "" : "s");
  if (zombies) fprintf(out, ", %zu zombie%s", zombies, zombies == 1 ? "" : "s");
  fprintf(out, "; %llu pages saved (%s) in %llu section%s, %llu compressed\n", static_cast<unsigned long long>(pages),
          byte_size(pages * h.page_size).c_str(), static_cast<unsigned long long>(image.page_sections), image.page_sections == 1 ? "" : "s",
          static_cast<unsigned long long>(image.compressed_sections));
  for (const ProcessImage& p : image.processes) {
    const ProcessRecord& r = p.process;
    fprintf(out, "\nprocess %d (%s) %s%s\n", r.pid, r.comm.c_str(), r.exe.c_str(), r.was_stopped ? " [stopped]" : "");
    fprintf(out, "  parent %d, process group %d, session %d, cwd %s\n", r.ppid, r.pgid, r.sid, r.cwd.c_str());
    if (r.uids.size() >= 2 && r.gids.size() >= 2) fprintf(out, "  uid %u (effective %u), gid %u (effective %u)\n", r.uids[0], r.uids[1], r.gids[0], r.gids[1]);
    std::string tids;
    for (const ThreadRecord& t : p.threads) tids += format(" %d", t.tid);
    fprintf(out, "  threads:%s\n", tids.c_str());
    auto pages_of = image.pages.find(r.pid);
    print_memory(p, pages_of == image.pages.end() ? 0 : pages_of->second, h.page_size, out);
    print_files(p, out);
    print_signals(p, out);
    print_limits(r, out);
  }
  for (const TreeEntryRecord& z : image.tree.processes) {
    if (!z.zombie) continue;
    std::string how = WIFSIGNALED(z.wait_status) ? "killed by " + signal_name(WTERMSIG(z.wait_status))
                                                  : format("exit status %d", WEXITSTATUS(z.wait_status));
    fprintf(out, "\nzombie %d (parent %d): %s\n", z.pid, z.ppid, how.c_str());
  }
}

}  // namespace crest
