// Named FIFOs (fifo.h).
#include "fds/fifo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "fds/fd_kind.h"
#include "fds/pipe.h"
#include "restore/restore_context.h"

namespace crest {

namespace {

bool detect_fifo(const FdFacts& f) { return S_ISFIFO(f.st.st_mode) && !f.target.empty() && f.target[0] == '/'; }

Result<void> dump_fifo(const FdFacts& f, FdRecord& rec) {
  FifoRecord fifo;
  fifo.fifo_id = (1ull << 63) | (((static_cast<uint64_t>(f.st.st_dev) & 0x7fffff) << 40) ^ static_cast<uint64_t>(f.st.st_ino));
  const char* deleted_suffix = " (deleted)";
  bool deleted = f.st.st_nlink == 0 && rec.path.size() > strlen(deleted_suffix) &&
                 rec.path.compare(rec.path.size() - strlen(deleted_suffix), std::string::npos, deleted_suffix) == 0;
  if (deleted) rec.path.resize(rec.path.size() - strlen(deleted_suffix));
  fifo.mode = f.st.st_mode & 07777;
  fifo.deleted = deleted;
  rec.position = 0;
  set_payload(rec, FdKind::Fifo, fifo);
  return {};
}

// (A named FIFO can be read through any of its ends: opening it again for reading.)
Result<void> write_fifo_data(DumpContext& ctx, const FdRecord& rec, SavedObjects& saved) {
  return save_pipe_contents(ctx, rec, CR_TRY(payload_of<FifoRecord>(rec)).fifo_id, saved);
}

Result<Fd> open_holder(const std::string& path) {
  Fd f(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!f.valid()) return Error::os(format("opening FIFO %s", path.c_str()));
  struct stat st {};
  if (fstat(f.get(), &st) != 0 || !S_ISFIFO(st.st_mode))
    return Error(ErrorKind::Os, EEXIST, format("%s is no longer a FIFO", path.c_str()));
  return f;
}

Result<void> make_fifo(const std::string& path, mode_t mode) {
  if (mkfifo(path.c_str(), mode) != 0) return Error::os(format("mkfifo %s", path.c_str()));
  if (chmod(path.c_str(), mode) != 0) return Error::os(format("chmod %s", path.c_str()));  // past our umask
  return {};
}

// The FIFO of `rec` at `path` (relocated), opened O_RDWR | O_NONBLOCK.
Result<Fd> open_fifo(const FdRecord& rec, const FifoRecord& fifo, const std::string& path) {
  const mode_t mode = static_cast<mode_t>(fifo.mode & 07777);
  if (fifo.deleted) {
    // Deleted while open: a new FIFO beside where it was (or in /tmp), unlinked at once.
    std::string dir = path.substr(0, path.rfind('/'));
    std::string name = format("%s/.crest-fifo-%d-%d", dir.empty() ? "" : dir.c_str(), getpid(), rec.fd);
    if (!make_fifo(name, mode)) {
      name = format("/tmp/.crest-fifo-%d-%d", getpid(), rec.fd);
      CR_TRY(make_fifo(name, mode), "fd %d: recreating deleted FIFO %s", rec.fd, path.c_str());
    }
    auto f = open_holder(name);
    ::unlink(name.c_str());
    if (!f) return f.error().context(format("fd %d", rec.fd));
    return f;
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Error::os(format("fd %d: stat of FIFO %s", rec.fd, path.c_str()));
    fprintf(stderr, "cr_restart: warning: fd %d: FIFO %s is gone; making it again\n", rec.fd, path.c_str());
    CR_TRY(make_fifo(path, mode), "fd %d", rec.fd);
  } else if (!S_ISFIFO(st.st_mode)) {
    return Error(ErrorKind::Os, EEXIST, format("fd %d was the FIFO %s, which is now another kind of file", rec.fd, path.c_str()));
  }
  auto f = open_holder(path);
  if (!f) return f.error().context(format("fd %d", rec.fd));
  return f;
}

Result<void> make_fifos(const std::vector<const ProcessImage*>& images, const RestoreOptions& options, SharedFiles& shared) {
  for (const ProcessImage* image : images)
    for (const FdRecord& rec : image->fds.fds) {
      if (rec.kind != FdKind::Fifo) continue;
      FifoRecord fifo = CR_TRY(payload_of<FifoRecord>(rec));
      if (shared.pipes.count(fifo.fifo_id)) continue;
      Fd holder = CR_TRY(open_fifo(rec, fifo, relocate_path(rec.path, options.relocations)));
      LocalPipe& lp = shared.pipes[fifo.fifo_id];
      lp.write = Fd(fcntl(holder.get(), F_DUPFD_CLOEXEC, 0));
      if (!lp.write.valid()) return Error::os("fcntl(F_DUPFD_CLOEXEC)");
      lp.read = std::move(holder);
      CR_TRY(refill_pipe(lp, fifo.fifo_id, images, rec.fd));
    }
  return {};
}

// One end: a reopen of the holder with the end's flags.
Result<Fd> open_fifo_end(FdOpenContext& c, const FdRecord& rec) {
  FifoRecord fifo = CR_TRY(payload_of<FifoRecord>(rec));
  auto it = c.shared.pipes.find(fifo.fifo_id);
  if (it == c.shared.pipes.end()) return Error::corrupt(format("fd %d: FIFO %s was not opened", rec.fd, rec.path.c_str()));
  int flags = static_cast<int>(rec.flags) & ~(O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY | O_NONBLOCK);
  Fd f(::open(format("/proc/self/fd/%d", it->second.read.get()).c_str(), flags | O_NONBLOCK | O_CLOEXEC));
  if (!f.valid()) return Error::os(format("fd %d: reopening its FIFO %s", rec.fd, rec.path.c_str()));
  if (fcntl(f.get(), F_SETFL, rec.flags & (O_NONBLOCK | O_APPEND | O_DIRECT)) != 0)
    return Error::os(format("fd %d: fcntl(F_SETFL) on its FIFO", rec.fd));
  return f;
}

}  // namespace

const FdKindOps kFifoKind{
    .kind = FdKind::Fifo,
    .name = "named FIFO",
    .detect = detect_fifo,
    .dump = dump_fifo,
    .write_data = write_fifo_data,
    .make_shared = make_fifos,
    .open = open_fifo_end,
    .print = print_payload<FifoRecord>,
};

}  // namespace crest
