// Named FIFOs (fifo.h).
#include "fds/fifo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "fds/fd_kind.h"
#include "fds/pipe.h"
#include "restore/restore_context.h"

namespace crest {

namespace {

bool detect_fifo(const FdFacts& f) { return S_ISFIFO(f.st.st_mode) && !f.target.empty() && f.target[0] == '/'; }

Result<void> dump_fifo(const FdFacts& f, FdRecord& rec) {
  FifoRecord fifo;
  fifo.fifo_id = (1ull << 63) | (((static_cast<uint64_t>(f.st.st_dev) & 0x7fffff) << 40) ^ static_cast<uint64_t>(f.st.st_ino));
  // The name this fd was opened by is gone when its link ends in " (deleted)" and no file
  // of that inode has that whole name (the FIFO may live on under another hard link).
  const std::string deleted_suffix = " (deleted)";
  struct stat named {};
  bool deleted = rec.path.size() > deleted_suffix.size() &&
                 rec.path.compare(rec.path.size() - deleted_suffix.size(), std::string::npos, deleted_suffix) == 0 &&
                 !(lstat(rec.path.c_str(), &named) == 0 && named.st_dev == f.st.st_dev && named.st_ino == f.st.st_ino);
  if (deleted) rec.path.resize(rec.path.size() - deleted_suffix.size());
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

// A FIFO unlinked while open: made anew beside where it was (or in /tmp), unlinked at once.
Result<Fd> make_unlinked_fifo(const FdRecord& rec, const FifoRecord& fifo, const std::string& path) {
  const mode_t mode = static_cast<mode_t>(fifo.mode & 07777);
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

// One FIFO inode as the image saw it: the names its ends were opened by (hard links of
// it, relocated, in image order) and a record of an end, for messages and its mode.
struct FifoNames {
  const FdRecord* first = nullptr;
  FifoRecord fifo;
  std::vector<std::string> names;  // empty: every end's name was unlinked at the checkpoint
};

Result<Fd> open_named_fifo(const FifoNames& n) {
  const FdRecord& rec = *n.first;
  // The FIFO is the first name that is a FIFO now; if none is, it is made at the first.
  std::vector<struct stat> now(n.names.size());
  std::vector<bool> exists(n.names.size());
  size_t holder = n.names.size();
  for (size_t i = 0; i < n.names.size(); i++) {
    exists[i] = lstat(n.names[i].c_str(), &now[i]) == 0;
    if (!exists[i] && errno != ENOENT) return Error::os(format("fd %d: stat of FIFO %s", rec.fd, n.names[i].c_str()));
    if (exists[i] && !S_ISFIFO(now[i].st_mode))
      return Error(ErrorKind::Os, EEXIST, format("fd %d was the FIFO %s, which is now another kind of file", rec.fd, n.names[i].c_str()));
    if (exists[i] && holder == n.names.size()) holder = i;
  }
  if (holder == n.names.size()) {
    holder = 0;
    fprintf(stderr, "cr_restart: warning: fd %d: FIFO %s is gone; making it again\n", rec.fd, n.names[0].c_str());
    CR_TRY(make_fifo(n.names[0], static_cast<mode_t>(n.fifo.mode & 07777)), "fd %d", rec.fd);
  }
  const std::string& at = n.names[holder];
  auto f = open_holder(at);
  if (!f) return f.error().context(format("fd %d", rec.fd));
  struct stat held {};
  if (fstat(f->get(), &held) != 0) return Error::os(format("fstat of FIFO %s", at.c_str()));
  // Its other names: links of it again, made where gone; one that is now another FIFO is
  // left as it is, and the ends opened by it stay on this FIFO, the one they shared.
  for (size_t i = 0; i < n.names.size(); i++) {
    if (i == holder) continue;
    if (!exists[i]) {
      fprintf(stderr, "cr_restart: warning: FIFO %s is gone; making it again as a link of %s\n", n.names[i].c_str(), at.c_str());
      if (::link(at.c_str(), n.names[i].c_str()) != 0)
        return Error::os(format("linking FIFO %s to %s", n.names[i].c_str(), at.c_str()));
    } else if (now[i].st_dev != held.st_dev || now[i].st_ino != held.st_ino) {
      fprintf(stderr,
              "cr_restart: warning: FIFO %s is no longer a link of %s; the ends opened by it are restored on the FIFO at %s\n",
              n.names[i].c_str(), at.c_str(), at.c_str());
    }
  }
  return f;
}

Result<void> make_fifos(const std::vector<const ProcessImage*>& images, const RestoreOptions& options, SharedFiles& shared) {
  std::map<uint64_t, FifoNames> by_id;
  std::vector<uint64_t> order;
  for (const ProcessImage* image : images)
    for (const FdRecord& rec : image->fds.fds) {
      if (rec.kind != FdKind::Fifo) continue;
      FifoRecord fifo = CR_TRY(payload_of<FifoRecord>(rec));
      FifoNames& n = by_id[fifo.fifo_id];
      if (!n.first) {
        n.first = &rec;
        n.fifo = fifo;
        order.push_back(fifo.fifo_id);
      }
      std::string name = relocate_path(rec.path, options.relocations);
      if (!fifo.deleted && std::find(n.names.begin(), n.names.end(), name) == n.names.end()) n.names.push_back(name);
    }
  for (uint64_t id : order) {
    const FifoNames& n = by_id[id];
    Fd holder;
    if (n.names.empty())
      holder = CR_TRY(make_unlinked_fifo(*n.first, n.fifo, relocate_path(n.first->path, options.relocations)));
    else
      holder = CR_TRY(open_named_fifo(n));
    LocalPipe& lp = shared.pipes[id];
    lp.write = Fd(fcntl(holder.get(), F_DUPFD_CLOEXEC, 0));
    if (!lp.write.valid()) return Error::os("fcntl(F_DUPFD_CLOEXEC)");
    lp.read = std::move(holder);
    CR_TRY(refill_pipe(lp, id, images, n.first->fd));
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
