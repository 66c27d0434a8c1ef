// Files deleted while open, and memfds (deleted_file.h).
#include "fds/deleted_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
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

constexpr const char kMemfdPrefix[] = "/memfd:";

bool is_memfd(const std::string& path) { return path.rfind(kMemfdPrefix, 0) == 0; }

bool detect_deleted(const FdFacts& f) { return S_ISREG(f.st.st_mode) && f.st.st_nlink == 0 && has_deleted_suffix(f.target); }

// Whether `pid` has a MAP_SHARED area of the memfd of inode `inode`. Such an area is
// mapped writable at restart (its pages are written into it), which F_SEAL_WRITE forbids.
Result<bool> mapped_shared(pid_t pid, ino_t inode) {
  std::string maps = CR_TRY(read_text_file(format("/proc/%d/maps", pid)));
  size_t at = 0;
  while (at < maps.size()) {
    size_t end = maps.find('\n', at);
    if (end == std::string::npos) end = maps.size();
    char perms[8] = "";
    unsigned long long ino = 0;
    int path_at = 0;
    std::string line = maps.substr(at, end - at);
    if (sscanf(line.c_str(), "%*x-%*x %7s %*x %*x:%*x %llu %n", perms, &ino, &path_at) == 2 && perms[3] == 's' && ino == inode &&
        line.compare(path_at, strlen(kMemfdPrefix), kMemfdPrefix) == 0)
      return true;
    at = end + 1;
  }
  return false;
}

// The seals of the memfd behind fd `f.fd`, read from a duplicate of it; a memfd on
// hugetlbfs (MFD_HUGETLB) is refused: its pages cannot be written back with pwrite.
Result<uint32_t> memfd_seals(const FdFacts& f, const FdRecord& rec) {
  Fd dup = CR_TRY(dup_target_fd(f.pid, f.fd));
  struct statfs fs {};
  if (fstatfs(dup.get(), &fs) != 0) return Error::os(format("fd %d (%s): fstatfs", f.fd, rec.path.c_str()));
  if (fs.f_type == HUGETLBFS_MAGIC)
    return Error::unsupported(format("process %d, fd %d: memfd %s made with MFD_HUGETLB (huge-page memfds are not restored)", f.pid, f.fd,
                                     rec.path.c_str()));
  int seals = fcntl(dup.get(), F_GET_SEALS);
  if (seals < 0) return Error::os(format("fd %d (%s): fcntl(F_GET_SEALS)", f.fd, rec.path.c_str()));
  if ((seals & F_SEAL_WRITE) && CR_TRY(mapped_shared(f.pid, f.st.st_ino)))
    return Error::unsupported(format("process %d, fd %d: memfd %s with F_SEAL_WRITE is mapped shared (restored, the mapping would keep "
                                     "it writable)", f.pid, f.fd, rec.path.c_str()));
  return static_cast<uint32_t>(seals);
}

Result<void> dump_deleted(const FdFacts& f, FdRecord& rec) {
  rec.path.resize(rec.path.size() - strlen(kDeletedSuffix));
  DeletedFileRecord d;
  d.inode = f.st.st_ino;
  d.size = f.st.st_size;
  d.mode = f.st.st_mode & 07777;
  d.uid = f.st.st_uid;
  d.gid = f.st.st_gid;
  if (is_memfd(rec.path)) d.seals = CR_TRY(memfd_seals(f, rec));
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
  // Another fd of the same file with its own open file description (an open of
  // /proc/PID/fd/N): a reopen of the file already made, so that they stay one file.
  if (auto made = c.shared.deleted.find(saved.inode); made != c.shared.deleted.end()) {
    Fd reopened = CR_TRY(reopen_file(rec, format("/proc/self/fd/%d", made->second.get()), false));
    if (lseek(reopened.get(), static_cast<off_t>(rec.position), SEEK_SET) < 0) return Error::os(format("fd %d: lseek", rec.fd));
    return reopened;
  }
  auto remember = [&](int f) -> Result<void> {
    Fd kept(fcntl(f, F_DUPFD_CLOEXEC, 0));
    if (!kept.valid()) return Error::os("fcntl(F_DUPFD_CLOEXEC)");
    c.shared.deleted.emplace(saved.inode, std::move(kept));
    return {};
  };
  if (is_memfd(path)) {
    // Always sealable: the seals are added last (add_seals), F_SEAL_SEAL among them for
    // a memfd made without MFD_ALLOW_SEALING.
    Fd mem(memfd_create(path.substr(strlen(kMemfdPrefix)).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!mem.valid()) return Error::os(format("fd %d: memfd_create", rec.fd));
    Fd reopened = CR_TRY(reopen_file(rec, format("/proc/self/fd/%d", mem.get()), false));
    CR_TRY(refill(mem.get(), rec, saved, data), "restoring memfd %s", path.c_str());
    CR_TRY(remember(mem.get()));
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
  CR_TRY(remember(tmp.get()));
  if (lseek(reopened->get(), static_cast<off_t>(rec.position), SEEK_SET) < 0)
    return Error::os(format("fd %d: lseek %s to %llu", rec.fd, path.c_str(), (unsigned long long)rec.position));
  return reopened;
}

// The saved seals, added inside the restored process once its memory and contents are in
// place (a seal forbids the writes and the growth that restoring them needs). F_ADD_SEALS
// wants a writable descriptor: for an fd open read-only, a writable reopen of it is used
// for the call. Seals another fd of the same memfd already added are not added again (a
// memfd with F_SEAL_SEAL refuses any F_ADD_SEALS).
Result<void> add_seals(StubSession& s, const ProcessImage&, const FdRecord& rec) {
  if (!is_memfd(rec.path)) return {};
  DeletedFileRecord saved = CR_TRY(payload_of<DeletedFileRecord>(rec));
  if (saved.seals == 0) return {};
  const uint64_t fd = static_cast<uint64_t>(rec.fd);
  uint64_t now = CR_TRY(s.sys.call("fcntl(F_GET_SEALS)", SYS_fcntl, {fd, F_GET_SEALS}), "memfd fd %d", rec.fd);
  uint64_t missing = saved.seals & ~now;
  if (missing == 0) return {};
  uint64_t writable = fd;
  if ((rec.flags & O_ACCMODE) == O_RDONLY) {
    std::string path = format("/proc/self/fd/%d", rec.fd);
    CR_TRY(s.tracee.write_memory(s.scratch, path.c_str(), path.size() + 1));
    writable = CR_TRY(s.sys.call("open", SYS_openat, {static_cast<uint64_t>(AT_FDCWD), s.scratch, O_RDWR | O_CLOEXEC, 0}),
                      "memfd fd %d: a writable reopen to add its seals", rec.fd);
  }
  auto added = s.sys.call("fcntl(F_ADD_SEALS)", SYS_fcntl, {writable, F_ADD_SEALS, missing});
  if (writable != fd) CR_TRY(s.sys.call("close", SYS_close, {writable}));
  if (!added)
    return added.error().context(format("memfd fd %d (%s): adding seals %#llx%s", rec.fd, rec.path.c_str(), (unsigned long long)missing,
                                        (missing & F_SEAL_WRITE) ? " (F_SEAL_WRITE: a shared mapping of it is restored writable)" : ""));
  return {};
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
    .in_process = add_seals,
    .print = print_payload<DeletedFileRecord>,
};

}  // namespace crest
