// Named FIFOs (FdKind::Fifo): reopened by path, as BLCR did. cr_restart opens each FIFO
// once with O_RDWR | O_NONBLOCK (a FIFO opened that way never waits for the other side,
// and it keeps both sides open until every process has its ends), puts its buffered
// bytes back once (make_pipes), then every end is a reopen of that holder with the
// end's own flags. A FIFO deleted while open is made anew and unlinked again; one whose
// path is gone is made again at its path, with a warning.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "restore/restore_context.h"

namespace crest {

namespace {

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

}  // namespace

Result<Fd> open_fifo(const FdRecord& rec, const std::string& path) {
  if (rec.params.size() != 2) return Error::corrupt(format("fd %d: malformed FIFO record", rec.fd));
  const mode_t mode = static_cast<mode_t>(rec.params[0] & 07777);
  if (rec.params[1]) {
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

Result<Fd> open_fifo_end(const FdRecord& rec, int holder) {
  int flags = static_cast<int>(rec.flags) & ~(O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY | O_NONBLOCK);
  Fd f(::open(format("/proc/self/fd/%d", holder).c_str(), flags | O_NONBLOCK | O_CLOEXEC));
  if (!f.valid()) return Error::os(format("fd %d: reopening its FIFO %s", rec.fd, rec.path.c_str()));
  if (fcntl(f.get(), F_SETFL, rec.flags & (O_NONBLOCK | O_APPEND | O_DIRECT)) != 0)
    return Error::os(format("fd %d: fcntl(F_SETFL) on its FIFO", rec.fd));
  return f;
}

}  // namespace crest
