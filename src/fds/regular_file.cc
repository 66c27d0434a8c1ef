// Regular files, directories and character devices, reopened by path (regular_file.h).
#include "fds/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "fds/fd_kind.h"

namespace crest {

Result<Fd> reopen_file(const FdRecord& rec, const std::string& path, bool seek) {
  // Creation flags were for the original open(); O_TMPFILE (which includes O_DIRECTORY)
  // marks a file that was made nameless, and would make open() of a path fail.
  int flags = static_cast<int>(rec.flags) & ~(O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY);
  if ((flags & O_TMPFILE) == O_TMPFILE) flags &= ~O_TMPFILE;
  Fd f(::open(path.c_str(), flags | O_CLOEXEC));
  if (!f.valid()) return Error::os(format("fd %d: cannot reopen %s", rec.fd, path.c_str()));
  if (seek && lseek(f.get(), static_cast<off_t>(rec.position), SEEK_SET) < 0)
    return Error::os(format("fd %d: lseek %s to %llu", rec.fd, path.c_str(), (unsigned long long)rec.position));
  return f;
}

namespace {

bool detect_regular(const FdFacts& f) { return S_ISREG(f.st.st_mode); }
bool detect_directory(const FdFacts& f) { return S_ISDIR(f.st.st_mode); }
bool detect_device(const FdFacts& f) { return S_ISCHR(f.st.st_mode); }  // after Terminal in the table

Result<void> dump_regular(const FdFacts& f, FdRecord& rec) {
  set_payload(rec, FdKind::Regular,
              RegularFileRecord{static_cast<uint64_t>(f.st.st_size), f.st.st_mtim.tv_sec * 1000000000ll + f.st.st_mtim.tv_nsec});
  return {};
}

Result<Fd> open_regular(FdOpenContext& c, const FdRecord& rec) {
  auto saved = CR_TRY(payload_of<RegularFileRecord>(rec));
  Fd f = CR_TRY(reopen_file(rec, c.path, true));
  struct stat st {};
  if (saved.size != 0 && fstat(f.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) < rec.position)
    fprintf(stderr, "cr_restart: warning: fd %d: %s is now shorter (%lld bytes) than its saved offset %llu\n", rec.fd,
            c.path.c_str(), (long long)st.st_size, (unsigned long long)rec.position);
  return f;
}

Result<Fd> open_by_path(FdOpenContext& c, const FdRecord& rec) { return reopen_file(rec, c.path, false); }

}  // namespace

const FdKindOps kRegularFileKind{
    .kind = FdKind::Regular,
    .name = "regular file",
    .detect = detect_regular,
    .dump = dump_regular,
    .open = open_regular,
    .print = print_payload<RegularFileRecord>,
};

const FdKindOps kDirectoryKind{
    .kind = FdKind::Directory,
    .name = "directory",
    .detect = detect_directory,
    .open = open_by_path,
    .print = print_payload<NoPayload>,
};

const FdKindOps kDeviceKind{
    .kind = FdKind::Device,
    .name = "character device",
    .detect = detect_device,
    .open = open_by_path,
    .print = print_payload<NoPayload>,
};

}  // namespace crest
