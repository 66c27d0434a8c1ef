// O_PATH descriptors (opath.h).
#include "fds/opath.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "fds/fd_kind.h"

namespace crest {

namespace {

const char* type_name(uint32_t type) {
  switch (type & S_IFMT) {
    case S_IFREG: return "regular file";
    case S_IFDIR: return "directory";
    case S_IFLNK: return "symlink";
    case S_IFIFO: return "FIFO";
    case S_IFSOCK: return "socket";
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    default: return "file of another type";
  }
}

// Before every kind that looks at the file's type: an O_PATH descriptor of a regular
// file is not a regular file's descriptor (no offset, no I/O).
bool detect_opath(const FdFacts& f) { return std::strtoul(f.info.get("flags").c_str(), nullptr, 8) & O_PATH; }

Result<void> dump_opath(const FdFacts& f, FdRecord& rec) {
  if (rec.path.empty() || rec.path[0] != '/' || f.st.st_nlink == 0)
    return Error::unsupported(format("fd %d: O_PATH descriptor of %s, which has no path to reopen it by", rec.fd, rec.path.c_str()));
  rec.position = 0;
  set_payload(rec, FdKind::OPath, OPathRecord{static_cast<uint32_t>(f.st.st_mode & S_IFMT)});
  return {};
}

Result<Fd> open_opath(FdOpenContext& c, const FdRecord& rec) {
  OPathRecord saved = CR_TRY(payload_of<OPathRecord>(rec));
  // No lseek: an O_PATH descriptor has no offset (lseek fails with EBADF).
  Fd f(::open(c.path.c_str(), O_PATH | O_CLOEXEC | (static_cast<int>(rec.flags) & (O_NOFOLLOW | O_DIRECTORY))));
  if (!f.valid()) return Error::os(format("fd %d: cannot reopen %s (O_PATH)", rec.fd, c.path.c_str()));
  struct stat st {};
  if (fstat(f.get(), &st) != 0) return Error::os(format("fd %d: fstat of %s", rec.fd, c.path.c_str()));
  if ((st.st_mode & S_IFMT) != (saved.type & S_IFMT))
    return Error(ErrorKind::Os, EEXIST,
                 format("fd %d was an O_PATH descriptor of the %s %s, which is now a %s", rec.fd, type_name(saved.type),
                        c.path.c_str(), type_name(st.st_mode)));
  return f;
}

}  // namespace

const FdKindOps kOPathKind{
    .kind = FdKind::OPath,
    .name = "O_PATH descriptor",
    .detect = detect_opath,
    .dump = dump_opath,
    .open = open_opath,
    .print = print_payload<OPathRecord>,
};

}  // namespace crest
