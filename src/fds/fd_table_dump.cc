// The dump side of the fd table: every entry of /proc/PID/fd, its kind found by walking
// the table of kinds in order, its payload filled by that kind's unit.
#include <dirent.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "checkpoint/dump_context.h"
#include "fds/fd_table.h"
#include "fds/file_locks.h"
#include "fds/file_owner.h"
#include "fds/skipped.h"
#include "sys/io.h"

namespace crest {

std::string FdInfo::get(const char* key) const {
  auto it = fields.find(key);
  return it == fields.end() ? std::string() : it->second;
}

Result<FdInfo> read_fdinfo(pid_t pid, int fd) {
  auto text = CR_TRY(read_text_file(format("/proc/%d/fdinfo/%d", pid, fd)));
  FdInfo info;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (key == "tfd") info.tfd_lines.push_back(line);
    else if (key == "lock") info.lock_lines.push_back(value);
    else info.fields[key] = value;
  }
  return info;
}

Result<std::vector<int>> list_fds(pid_t pid) {
  std::string dir = format("/proc/%d/fd", pid);
  DIR* d = opendir(dir.c_str());
  if (!d) return Error::os("opendir " + dir);
  std::vector<int> fds;
  while (dirent* e = readdir(d))
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') fds.push_back(atoi(e->d_name));
  closedir(d);
  std::sort(fds.begin(), fds.end());
  return fds;
}

namespace {

// The kind of one descriptor, and its payload.
Result<void> dump_one(const FdFacts& facts, FdRecord& rec) {
  for (const FdKindOps* kind : fd_kinds()) {
    if (!kind->detect || !kind->detect(facts)) continue;
    rec.kind = kind->kind;
    if (kind->dump) CR_TRY(kind->dump(facts, rec));
    return {};
  }
  return Error::unsupported(format("fd %d (%s): this kind of file is not supported yet", facts.fd, facts.target.c_str()));
}

}  // namespace

Result<FdTableRecord> collect_fds(pid_t pid, bool skip_unsupported) {
  FdTableRecord table;
  for (int fd : CR_TRY(list_fds(pid))) {
    FdFacts facts;
    facts.pid = pid;
    facts.fd = fd;
    std::string link = format("/proc/%d/fd/%d", pid, fd);
    auto target = read_link(link);
    if (!target) continue;  // closed meanwhile (cannot happen while frozen, but harmless)
    facts.target = *target;
    if (stat(link.c_str(), &facts.st) != 0) return Error::os(format("stat of fd %d (%s)", fd, target->c_str()));
    facts.info = CR_TRY(read_fdinfo(pid, fd), "fd %d", fd);
    FdRecord rec;
    rec.fd = fd;
    rec.path = *target;
    rec.position = std::strtoull(facts.info.get("pos").c_str(), nullptr, 10);
    uint32_t flags = std::strtoul(facts.info.get("flags").c_str(), nullptr, 8);
    rec.cloexec = (flags & O_CLOEXEC) ? 1 : 0;
    rec.flags = flags & ~O_CLOEXEC;
    auto dumped = dump_one(facts, rec);
    if (!dumped) {
      if (!skip_unsupported || dumped.error().kind() != ErrorKind::Unsupported)
        return dumped.error().context(format("process %d", pid));
      skip_fd(rec, dumped.error());
    }
    if (rec.kind != FdKind::Skipped) {
      rec.locks = CR_TRY(parse_file_locks(facts.info.lock_lines, format("process %d, fd %d (%s)", pid, fd, target->c_str()),
                                          skip_unsupported));
      if (!(rec.flags & O_PATH)) rec.owner = CR_TRY(read_file_owner(pid, fd), "process %d", pid);  // O_PATH: no fcntl owner
    }
    // Descriptors made by dup() share one open file description (offset, flags): find
    // the lowest one this fd shares it with, so restore can dup() it again.
    for (const FdRecord& earlier : table.fds) {
      if (earlier.same_as >= 0 || earlier.kind != rec.kind) continue;
      if (syscall(SYS_kcmp, pid, pid, KCMP_FILE, earlier.fd, fd) == 0) {
        rec.same_as = earlier.fd;
        break;
      }
    }
    table.fds.push_back(std::move(rec));
  }
  return table;
}

namespace {

// Marks fds of different processes that share one open file description (kcmp).
void link_shared_files(FdTables& tables) {
  for (size_t j = 1; j < tables.size(); ++j) {
    auto [pid_j, table_j] = tables[j];
    for (FdRecord& rec : table_j->fds) {
      if (rec.same_as >= 0) continue;  // already shares with a lower fd of its own process
      for (size_t i = 0; i < j && rec.same_as < 0; ++i) {
        auto [pid_i, table_i] = tables[i];
        for (const FdRecord& earlier : table_i->fds) {
          if (earlier.same_as >= 0 || earlier.kind != rec.kind) continue;
          if (syscall(SYS_kcmp, pid_i, pid_j, KCMP_FILE, earlier.fd, rec.fd) == 0) {
            rec.same_as = earlier.fd;
            rec.same_as_pid = pid_i;
            break;
          }
        }
      }
    }
  }
}

}  // namespace

Result<void> resolve_fds(FdTables& tables, bool skip_unsupported) {
  link_shared_files(tables);
  CR_TRY(check_file_owners(tables, skip_unsupported));
  for (const FdKindOps* kind : fd_kinds())
    if (kind->resolve) CR_TRY(kind->resolve(tables, skip_unsupported));
  return {};
}

Result<void> write_fd_data(DumpContext& ctx, const FdTableRecord& table, SavedObjects& saved) {
  for (const FdRecord& rec : table.fds) {
    const FdKindOps* kind = fd_kind_ops(rec.kind);
    if (kind && kind->write_data) CR_TRY(kind->write_data(ctx, rec, saved));
  }
  return {};
}

}  // namespace crest
