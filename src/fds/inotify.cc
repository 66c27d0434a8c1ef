// inotify instances (inotify.h).
#include "fds/inotify.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <set>
#include <sstream>

#include "base/fd.h"
#include "checkpoint/cooperate.h"
#include "fds/fd_kind.h"
#include "restore/restore_context.h"
#include "sys/io.h"

namespace crest {

namespace {

struct WatchLine {
  int wd = 0;
  uint64_t ino = 0;
  dev_t dev = 0;
  uint32_t mask = 0;
  int handle_type = 0;
  std::vector<uint8_t> handle;
};

Result<std::vector<WatchLine>> read_watches(pid_t pid, int fd) {
  auto text = CR_TRY(read_text_file(format("/proc/%d/fdinfo/%d", pid, fd)));
  std::vector<WatchLine> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("inotify ", 0) != 0) continue;
    WatchLine w;
    unsigned wd = 0, sdev = 0, mask = 0, ignored = 0, bytes = 0;
    int type = 0;
    unsigned long ino = 0;
    char hex[512] = {};
    int n = sscanf(line.c_str(), "inotify wd:%x ino:%lx sdev:%x mask:%x ignored_mask:%x fhandle-bytes:%x fhandle-type:%x f_handle:%511s",
                   &wd, &ino, &sdev, &mask, &ignored, &bytes, &type, hex);
    if (n < 4) return Error::unsupported(format("fd %d: cannot parse inotify line '%s'", fd, line.c_str()));
    w.wd = static_cast<int>(wd);
    w.ino = ino;
    w.dev = makedev(sdev >> 20, sdev & 0xfffff);  // the kernel's own dev_t encoding
    w.mask = mask;
    if (n == 8) {
      w.handle_type = type;
      for (size_t i = 0; i + 1 < strlen(hex) && w.handle.size() < bytes; i += 2)
        w.handle.push_back(static_cast<uint8_t>(std::strtoul(std::string(hex + i, 2).c_str(), nullptr, 16)));
    }
    out.push_back(std::move(w));
  }
  return out;
}

bool same_object(const std::string& path, dev_t dev, uint64_t ino) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

// 1: by file handle, from a mount of the watched object's device.
std::optional<std::string> path_by_handle(const WatchLine& w) {
  if (w.handle.empty()) return std::nullopt;
  auto mounts = read_text_file("/proc/self/mountinfo");
  if (!mounts) return std::nullopt;
  std::istringstream in(*mounts);
  std::string line;
  std::string want = format("%u:%u", major(w.dev), minor(w.dev));
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    if (devno != want) continue;
    Fd mount_fd(::open(mount_point.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!mount_fd.valid()) continue;
    std::vector<uint8_t> buf(sizeof(file_handle) + w.handle.size());
    auto* fh = reinterpret_cast<file_handle*>(buf.data());
    fh->handle_bytes = static_cast<unsigned>(w.handle.size());
    fh->handle_type = w.handle_type;
    memcpy(fh->f_handle, w.handle.data(), w.handle.size());
    Fd obj(static_cast<int>(syscall(SYS_open_by_handle_at, mount_fd.get(), fh, O_PATH | O_CLOEXEC)));
    if (!obj.valid()) {
      if (errno == EPERM) return std::nullopt;  // no CAP_DAC_READ_SEARCH: no other mount will do
      continue;
    }
    auto path = read_link(format("/proc/self/fd/%d", obj.get()));
    if (path && !path->empty() && (*path)[0] == '/' && same_object(*path, w.dev, w.ino)) return *path;
  }
  return std::nullopt;
}

// 2: by device and inode, near where the process works.
std::optional<std::string> path_by_search(pid_t pid, const WatchLine& w) {
  std::vector<std::string> roots;
  if (auto cwd = read_link(format("/proc/%d/cwd", pid))) roots.push_back(*cwd);
  if (DIR* d = opendir(format("/proc/%d/fd", pid).c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      auto target = read_link(format("/proc/%d/fd/%s", pid, e->d_name));
      if (!target || target->empty() || (*target)[0] != '/') continue;
      roots.push_back(*target);
      std::string dir = target->substr(0, target->rfind('/'));
      roots.push_back(dir.empty() ? "/" : dir);
    }
    closedir(d);
  }
  size_t n = roots.size();
  for (size_t i = 0; i < n; ++i) {  // and each one's parent
    std::string parent = roots[i].substr(0, roots[i].rfind('/'));
    roots.push_back(parent.empty() ? "/" : parent);
  }
  for (const std::string& r : roots)
    if (same_object(r, w.dev, w.ino)) return r;
  // Below the cwd, breadth first.
  if (roots.empty()) return std::nullopt;
  std::deque<std::pair<std::string, int>> queue{{roots[0], 0}};
  size_t seen = 0;
  constexpr size_t kMaxEntries = 20000;
  constexpr int kMaxDepth = 3;
  while (!queue.empty() && seen < kMaxEntries) {
    auto [dir, depth] = queue.front();
    queue.pop_front();
    DIR* d = opendir(dir.c_str());
    if (!d) continue;
    while (dirent* e = readdir(d)) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      if (++seen > kMaxEntries) break;
      std::string path = dir == "/" ? "/" + std::string(e->d_name) : dir + "/" + e->d_name;
      if (e->d_ino == w.ino && same_object(path, w.dev, w.ino)) {
        closedir(d);
        return path;
      }
      if (e->d_type == DT_DIR && depth + 1 < kMaxDepth) queue.push_back({path, depth + 1});
    }
    closedir(d);
  }
  return std::nullopt;
}

// Bytes of events queued on the instance (FIONREAD on a duplicate: nothing is consumed).
int queued_bytes(pid_t pid, int fd) {
  auto dup = dup_target_fd(pid, fd);
  int n = 0;
  if (!dup || ioctl(dup->get(), FIONREAD, &n) != 0) return 0;
  return n;
}

bool detect_inotify(const FdFacts& f) { return f.target == "anon_inode:inotify"; }

Result<void> dump_inotify(const FdFacts& f, FdRecord& rec) {
  const pid_t pid = f.pid;
  InotifyRecord inotify;
  for (const WatchLine& w : CR_TRY(read_watches(pid, rec.fd))) {
    auto path = path_by_handle(w);
    if (!path) path = path_by_search(pid, w);
    if (!path)
      return Error(ErrorKind::Unsupported, ENOTSUP,
                   format("process %d, fd %d: inotify watch %d (inode %llu on device %u:%u): its path cannot be found "
                          "(open_by_handle_at needs CAP_DAC_READ_SEARCH, and it is not under the process's cwd or "
                          "beside its open files)",
                          pid, rec.fd, w.wd, (unsigned long long)w.ino, major(w.dev), minor(w.dev)));
    inotify.watches.push_back({w.wd, w.mask, *path});
  }
  if (int n = queued_bytes(pid, rec.fd); n > 0)
    warn(format("process %d, fd %d: %d bytes of inotify events not read yet are not saved (the kernel cannot show "
                "them without consuming them)", pid, rec.fd, n));
  set_payload(rec, FdKind::Inotify, inotify);
  return {};
}

void drain(int fd) {
  char buf[16384];
  while (::read(fd, buf, sizeof buf) > 0) {
  }
}

// A new instance with the saved watches, each with its saved watch descriptor.
Result<Fd> open_inotify(FdOpenContext& c, const FdRecord& rec) {
  InotifyRecord saved = CR_TRY(payload_of<InotifyRecord>(rec));
  const RestoreOptions& options = c.options;
  Fd in(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!in.valid()) return Error::os(format("fd %d: inotify_init1", rec.fd));
  std::vector<InotifyWatchRecord> watches = saved.watches;
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

}  // namespace

const FdKindOps kInotifyKind{
    .kind = FdKind::Inotify,
    .name = "inotify",
    .detect = detect_inotify,
    .dump = dump_inotify,
    .open = open_inotify,
    .print = print_payload<InotifyRecord>,
};

}  // namespace crest
