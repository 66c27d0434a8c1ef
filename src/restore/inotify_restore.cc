// inotify instances (FdKind::Inotify): made by cr_restart with inotify_init1, every watch
// added again on its path with its mask, and given the SAME watch descriptor. A new
// instance hands out wds in increasing order (1, 2, ...; one removed is not reused), so:
//   1. the watches in wd order are added with a placeholder mask (IN_UNMOUNT and the
//      path flags only: no event can be queued for them); while the wd the kernel gives
//      is below the saved one, that watch is removed and added again (each add takes the
//      next number); the IN_IGNORED events of the removals are read away;
//   2. once all are placed, each gets its real mask (inotify_add_watch on an object
//      already watched replaces the mask and keeps the wd).
// The next wd of the restored instance is the highest saved wd + 1 (the original may
// have been further on, if watches above that were removed: fdinfo does not show it).
// Events queued but not read at checkpoint are not restored.
#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "restore/restore_context.h"

namespace crest {

namespace {

void drain(int fd) {
  char buf[16384];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

}  // namespace

Result<Fd> make_inotify(const FdRecord& rec, const RestoreOptions& options) {
  Fd in(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!in.valid()) return Error::os(format("fd %d: inotify_init1", rec.fd));
  std::vector<InotifyWatchRecord> watches = rec.watches;
  std::sort(watches.begin(), watches.end(), [](auto& a, auto& b) { return a.wd < b.wd; });
  constexpr uint32_t kPathFlags = IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;
  constexpr long kMaxSteps = 1l << 22;
  std::set<int> placed;
  long steps = 0;
  for (const InotifyWatchRecord& w : watches) {
    std::string path = relocate_path(w.path, options.relocations);
    for (;;) {
      int wd = inotify_add_watch(in.get(), path.c_str(), (w.mask & kPathFlags) | IN_UNMOUNT);
      if (wd < 0) return Error::os(format("fd %d: inotify watch %d on %s", rec.fd, w.wd, path.c_str()));
      if (wd == w.wd) break;
      if (wd > w.wd || placed.count(wd))
        return Error(ErrorKind::Os, EBUSY,
                     format("fd %d: inotify watch %d on %s came back as wd %d (%s)", rec.fd, w.wd, path.c_str(), wd,
                            placed.count(wd) ? "the path now leads to an object another watch has" : "numbers out of order"));
      if (inotify_rm_watch(in.get(), wd) != 0) return Error::os(format("fd %d: inotify_rm_watch", rec.fd));
      if (++steps % 4096 == 0) drain(in.get());
      if (steps > kMaxSteps)
        return Error::unsupported(format("fd %d: inotify watch %d: too many numbers to skip to reach it", rec.fd, w.wd));
    }
    placed.insert(w.wd);
  }
  drain(in.get());  // the IN_IGNORED of the removals; the placed watches queue nothing
  for (const InotifyWatchRecord& w : watches) {
    std::string path = relocate_path(w.path, options.relocations);
    int wd = inotify_add_watch(in.get(), path.c_str(), w.mask & ~(IN_MASK_ADD | IN_MASK_CREATE));
    if (wd != w.wd)
      return Error::os(format("fd %d: setting the mask %#x of inotify watch %d on %s (got %d)", rec.fd, w.mask, w.wd, path.c_str(), wd));
  }
  if (!(rec.flags & O_NONBLOCK) && fcntl(in.get(), F_SETFL, 0) != 0) return Error::os(format("fd %d: fcntl(F_SETFL)", rec.fd));
  return in;
}

}  // namespace crest
