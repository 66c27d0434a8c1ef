// Files deleted while open, and memfds (deleted_file.h).
#include "fds/deleted_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "checkpoint/dump_context.h"
#include "fds/fd_kind.h"
#include "fds/regular_file.h"
#include "restore/restore_context.h"
#include "sys/io.h"

namespace crest {

namespace {

constexpr const char kDeletedSuffix[] = " (deleted)";

bool has_deleted_suffix(const std::string& target) {
  size_t n = strlen(kDeletedSuffix);
  return target.size() > n && target.compare(target.size() - n, std::string::npos, kDeletedSuffix) == 0;
}

bool detect_deleted(const FdFacts& f) { return S_ISREG(f.st.st_mode) && f.st.st_nlink == 0 && has_deleted_suffix(f.target); }

Result<void> dump_deleted(const FdFacts& f, FdRecord& rec) {
  rec.path.resize(rec.path.size() - strlen(kDeletedSuffix));
  set_payload(rec, FdKind::Deleted, DeletedFileRecord{f.st.st_ino, static_cast<uint64_t>(f.st.st_size)});
  return {};
}

Result<void> write_contents(DumpContext& ctx, const FdRecord& rec, SavedObjects&) {
  auto saved = CR_TRY(payload_of<DeletedFileRecord>(rec));
  Fd f(::open(format("/proc/%d/fd/%d", ctx.pid, rec.fd).c_str(), O_RDONLY | O_CLOEXEC));
  if (!f.valid()) return Error::os(format("opening deleted file behind fd %d (%s)", rec.fd, rec.path.c_str()));
  std::vector<uint8_t> data;
  data.resize(saved.size);
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = pread(f.get(), data.data() + got, data.size() - got, got);
    if (n < 0) return Error::os(format("reading deleted file behind fd %d", rec.fd));
    if (n == 0) break;
    got += n;
  }
  data.resize(got);
  int32_t fd = rec.fd;
  return ctx.writer.write_section(SectionType::FileData, ctx.pid, {{&fd, sizeof fd}, {data.data(), data.size()}});
}

// An unlinked file with the saved contents, created in its original directory when that
// still exists (else in /tmp); a memfd as a memfd of the same name.
Result<Fd> open_deleted(FdOpenContext& c, const FdRecord& rec) {
  CR_TRY(payload_of<DeletedFileRecord>(rec));
  auto it = c.image.file_data.find(rec.fd);
  if (it == c.image.file_data.end()) return Error::corrupt(format("no saved contents for deleted file of fd %d", rec.fd));
  const std::vector<uint8_t>& data = it->second;
  const std::string& path = c.path;
  if (path.rfind("/memfd:", 0) == 0) {
    Fd mem(memfd_create(path.substr(7).c_str(), MFD_CLOEXEC));
    if (!mem.valid()) return Error::os(format("fd %d: memfd_create", rec.fd));
    CR_TRY(write_all(mem.get(), data.data(), data.size()), "fd %d: restoring memfd %s", rec.fd, path.c_str());
    return reopen_file(rec, format("/proc/self/fd/%d", mem.get()), true);
  }
  std::string dir = path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/tmp";
  std::string name = format("%s/.crest-deleted-%d-%d", dir.c_str(), getpid(), rec.fd);
  Fd tmp(::open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!tmp.valid()) {
    name = format("/tmp/.crest-deleted-%d-%d", getpid(), rec.fd);
    tmp = Fd(::open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  }
  if (!tmp.valid()) return Error::os(format("fd %d: creating a file for deleted %s", rec.fd, path.c_str()));
  auto written = write_all(tmp.get(), data.data(), data.size());
  auto reopened = reopen_file(rec, name, true);
  ::unlink(name.c_str());
  if (!written) return written.error().context(format("fd %d: restoring deleted %s", rec.fd, path.c_str()));
  return reopened;
}

}  // namespace

Result<void> read_file_data(const Section& s, ProcessImage& image) {
  if (s.payload.size() < 4) return Error::corrupt("short FileData section");
  int32_t fd;
  memcpy(&fd, s.payload.data(), 4);
  image.file_data[fd].assign(s.payload.begin() + 4, s.payload.end());
  return {};
}

std::map<uint64_t, int> deleted_file_objects(const std::vector<const ProcessImage*>& images, const PreparedMap& prepared) {
  std::map<uint64_t, int> out;
  for (const ProcessImage* image : images)
    for (const FdRecord& rec : image->fds.fds) {
      if (rec.kind != FdKind::Deleted) continue;
      auto saved = payload_of<DeletedFileRecord>(rec);
      auto local = prepared.find({image->process.pid, rec.fd});
      if (saved && local != prepared.end()) out.emplace(saved->inode, local->second);
    }
  return out;
}

const FdKindOps kDeletedFileKind{
    .kind = FdKind::Deleted,
    .name = "deleted file",
    .detect = detect_deleted,
    .dump = dump_deleted,
    .write_data = write_contents,
    .open = open_deleted,
    .print = print_payload<DeletedFileRecord>,
};

}  // namespace crest
