// Files deleted while open, and memfds (deleted_file.h).
#include "fds/deleted_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
  DeletedFileRecord d;
  d.inode = f.st.st_ino;
  d.size = f.st.st_size;
  d.mode = f.st.st_mode & 07777;
  d.uid = f.st.st_uid;
  d.gid = f.st.st_gid;
  set_payload(rec, FdKind::Deleted, d);
  return {};
}

struct FileDataHeader {
  int32_t fd;
  uint32_t zero;
  uint64_t offset;
};
static_assert(sizeof(FileDataHeader) == 16);

// The data extents of the file (SEEK_DATA / SEEK_HOLE), each in sections of at most
// kFileDataChunk bytes; nothing for the holes.
Result<void> write_contents(DumpContext& ctx, const FdRecord& rec, SavedObjects&) {
  if (rec.same_as >= 0) return {};  // restored as a dup of the fd that saved it
  auto saved = CR_TRY(payload_of<DeletedFileRecord>(rec));
  Fd f(::open(format("/proc/%d/fd/%d", ctx.pid, rec.fd).c_str(), O_RDONLY | O_CLOEXEC));
  if (!f.valid()) return Error::os(format("opening deleted file behind fd %d (%s)", rec.fd, rec.path.c_str()));
  const uint64_t size = saved.size;
  std::vector<uint8_t> chunk;
  for (uint64_t at = 0; at < size;) {
    off_t data = lseek(f.get(), static_cast<off_t>(at), SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // only a hole from here to the end
    uint64_t start = at, end = size;
    if (data >= 0) {
      start = static_cast<uint64_t>(data);
      off_t hole = lseek(f.get(), data, SEEK_HOLE);
      if (hole < 0) return Error::os(format("lseek(SEEK_HOLE) in the deleted file behind fd %d", rec.fd));
      end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    } else if (errno != EINVAL) {
      return Error::os(format("lseek(SEEK_DATA) in the deleted file behind fd %d", rec.fd));
    }  // EINVAL: no SEEK_DATA on this file system: all of it is data
    for (uint64_t off = start; off < end;) {
      chunk.resize(std::min(kFileDataChunk, end - off));
      ssize_t n = pread(f.get(), chunk.data(), chunk.size(), static_cast<off_t>(off));
      if (n < 0) return Error::os(format("reading deleted file behind fd %d", rec.fd));
      if (n == 0) return {};  // shorter than its size now: nothing more to save
      FileDataHeader head{rec.fd, 0, off};
      CR_TRY(ctx.writer.write_section(SectionType::FileData, ctx.pid, {{&head, sizeof head}, {chunk.data(), static_cast<size_t>(n)}}));
      off += n;
    }
    at = end;
  }
  return {};
}

// The saved size, data, owner and mode, on `f`, a new file open for writing.
Result<void> refill(int f, const FdRecord& rec, const DeletedFileRecord& saved, const std::vector<ProcessImage::FileExtent>& data) {
  if (ftruncate(f, static_cast<off_t>(saved.size)) != 0) return Error::os(format("fd %d: ftruncate to %llu", rec.fd, (unsigned long long)saved.size));
  for (const auto& extent : data) {
    size_t done = 0;
    while (done < extent.bytes.size()) {
      ssize_t n = pwrite(f, extent.bytes.data() + done, extent.bytes.size() - done, static_cast<off_t>(extent.offset + done));
      if (n <= 0) return Error::os(format("fd %d: writing the saved contents", rec.fd));
      done += n;
    }
  }
  // The owner first (a chown clears set-user-ID bits), then the mode. Only root may give a
  // file to another user: an ordinary user restores their own files.
  if (geteuid() == 0 && fchown(f, saved.uid, saved.gid) != 0) return Error::os(format("fd %d: fchown %u:%u", rec.fd, saved.uid, saved.gid));
  if (fchmod(f, saved.mode & 07777) != 0) return Error::os(format("fd %d: fchmod %o", rec.fd, saved.mode));
  return {};
}

// An unlinked file with the saved contents, created in its original directory when that
// still exists (else in /tmp); a memfd as a memfd of the same name. The descriptor the
// process gets is a reopen with its own flags, made before the mode is set (a file of
// mode 0400 is still reopened for writing by its owner).
Result<Fd> open_deleted(FdOpenContext& c, const FdRecord& rec) {
  DeletedFileRecord saved = CR_TRY(payload_of<DeletedFileRecord>(rec));
  static const std::vector<ProcessImage::FileExtent> kNoData;
  auto it = c.image.file_data.find(rec.fd);
  const auto& data = it == c.image.file_data.end() ? kNoData : it->second;
  const std::string& path = c.path;
  if (path.rfind("/memfd:", 0) == 0) {
    Fd mem(memfd_create(path.substr(7).c_str(), MFD_CLOEXEC));
    if (!mem.valid()) return Error::os(format("fd %d: memfd_create", rec.fd));
    Fd reopened = CR_TRY(reopen_file(rec, format("/proc/self/fd/%d", mem.get()), false));
    CR_TRY(refill(mem.get(), rec, saved, data), "restoring memfd %s", path.c_str());
    if (lseek(reopened.get(), static_cast<off_t>(rec.position), SEEK_SET) < 0) return Error::os(format("fd %d: lseek", rec.fd));
    return reopened;
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
  auto reopened = reopen_file(rec, name, false);
  ::unlink(name.c_str());
  if (!reopened) return reopened.error();
  CR_TRY(refill(tmp.get(), rec, saved, data), "restoring deleted %s", path.c_str());
  if (lseek(reopened->get(), static_cast<off_t>(rec.position), SEEK_SET) < 0)
    return Error::os(format("fd %d: lseek %s to %llu", rec.fd, path.c_str(), (unsigned long long)rec.position));
  return reopened;
}

}  // namespace

Result<void> read_file_data(const Section& s, ProcessImage& image) {
  FileDataHeader head;
  if (s.payload.size() < sizeof head) return Error::corrupt("short FileData section");
  memcpy(&head, s.payload.data(), sizeof head);
  if (head.zero != 0 || s.payload.size() - sizeof head > kFileDataChunk)
    return Error::corrupt(format("malformed FileData section for fd %d", head.fd));
  image.file_data[head.fd].push_back({head.offset, std::vector<uint8_t>(s.payload.begin() + sizeof head, s.payload.end())});
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
