// The identity of each file a process maps privately by reference: its unchanged pages
// come from the file at restart, so the restart must find the same file
// (docs/design.md, "Trust").
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/fd.h"
#include "base/format.h"
#include "checkpoint/dump_context.h"
#include "sys/elf_build_id.h"

namespace crest {

namespace {

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace

Result<MappedFileRecord> mapped_file_identity(pid_t pid, const MapsEntry& m, const std::string& path) {
  MappedFileRecord rec;
  rec.path = path;
  rec.dev = makedev(m.dev_major, m.dev_minor);
  rec.ino = m.inode;
  // The inode number decides whether the path still names the mapped file (the device
  // numbers of maps and stat differ on some filesystems, e.g. btrfs subvolumes).
  struct stat st {};
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  bool same = fd.valid() ? fstat(fd.get(), &st) == 0 && st.st_ino == m.inode
                         : ::stat(path.c_str(), &st) == 0 && st.st_ino == m.inode;  // execute-only
  if (!same) {
    // Replaced since it was mapped (a package upgrade renames a new file over it): the
    // mapped one is still reachable through map_files with CAP_CHECKPOINT_RESTORE, and
    // recording it makes the restart refuse the new file by name.
    fd = Fd(open(format("/proc/%d/map_files/%llx-%llx", pid, (unsigned long long)m.start, (unsigned long long)m.end).c_str(),
                 O_RDONLY | O_CLOEXEC));
    if (!fd.valid() || fstat(fd.get(), &st) != 0 || st.st_ino != m.inode)
      return Error::unsupported(format("area %llx-%llx maps inode %llu of %s, but that path now names another file and the "
                                       "mapped one cannot be reached (checkpoint with --save-private to save its contents)",
                                       (unsigned long long)m.start, (unsigned long long)m.end,
                                       (unsigned long long)m.inode, path.c_str()));
  }
  rec.size = static_cast<uint64_t>(st.st_size);
  rec.mtime_ns = mtime_ns(st);
  if (fd.valid()) rec.build_id = CR_TRY(elf_build_id(fd.get()), "%s", path.c_str());
  return rec;
}

}  // namespace crest
