// Unix socket path names (unix_socket_name.h).
#include "fds/unix_socket_name.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "base/fd.h"
#include "fds/unix_socket_diag.h"

namespace crest {

namespace {

// Whether `path` is the socket file the kernel says the socket was bound to (its dev is
// the kernel's encoding: major << 20 | minor).
bool is_bound_file(const std::string& path, const UnixSocketInfo& info, struct stat& st) {
  if (lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_ino != info.vfs_ino) return false;
  return major(st.st_dev) == (info.vfs_dev >> 20) && minor(st.st_dev) == (info.vfs_dev & 0xfffff);
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Back to the working directory it had, when leaving the scope.
class CwdKept {
 public:
  CwdKept() : dir_(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) {}
  ~CwdKept() {
    if (dir_.valid()) (void)!fchdir(dir_.get());
  }
  bool valid() const { return dir_.valid(); }

 private:
  Fd dir_;
};

Result<void> bind_name(int sock, const std::string& name) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.size() >= sizeof addr.sun_path) return Error::corrupt("socket name too long");
  memcpy(addr.sun_path, name.data(), name.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + name.size() + 1;
  if (bind(sock, reinterpret_cast<sockaddr*>(&addr), len) != 0) return Error::os(format("binding to %s", name.c_str()));
  return {};
}

// The directory holding `name` (relative) bound to the socket of `info`, looked for in
// `cwd`, its parents, then below it breadth first (at most kSearchDirs directories,
// kSearchDepth deep): a process that bound a relative name may have moved since.
constexpr size_t kSearchDirs = 4096;
constexpr int kSearchDepth = 3;

std::string find_relative(const std::string& cwd, const std::string& name, const UnixSocketInfo& info, struct stat& st) {
  for (std::string dir = cwd;; dir = parent_of(dir)) {
    if (is_bound_file((dir == "/" ? "" : dir) + "/" + name, info, st)) return dir;
    if (dir == "/" || dir == ".") break;
  }
  std::vector<std::pair<std::string, int>> queue{{cwd, 0}};
  for (size_t next = 0; next < queue.size() && next < kSearchDirs; ++next) {
    auto [dir, depth] = queue[next];
    if (next > 0 && is_bound_file(dir + "/" + name, info, st)) return dir;
    if (depth == kSearchDepth) continue;
    DIR* d = opendir(dir.c_str());
    if (!d) continue;
    while (dirent* e = readdir(d)) {
      if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      if (queue.size() < kSearchDirs) queue.push_back({(dir == "/" ? "" : dir) + "/" + e->d_name, depth + 1});
    }
    closedir(d);
  }
  return {};
}

}  // namespace

SocketFile locate_socket_file(const UnixSocketInfo& info, const std::vector<pid_t>& holders) {
  SocketFile file;
  struct stat st {};
  if (!info.name.empty() && info.name[0] == '/') {
    file.present = is_bound_file(info.name.c_str(), info, st);
  } else {
    const std::string name = info.name.c_str();
    for (pid_t pid : holders) {
      char target[4096];
      ssize_t n = readlink(format("/proc/%d/cwd", static_cast<int>(pid)).c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      if (strstr(target, " (deleted)") != nullptr) continue;
      if (file.directory.empty()) file.directory = target;
      std::string found = find_relative(target, name, info, st);
      if (!found.empty()) {
        file.directory = found;
        file.present = true;
        break;
      }
    }
  }
  if (file.present) {
    file.mode = st.st_mode & 07777;
    file.uid = st.st_uid;
    file.gid = st.st_gid;
  }
  return file;
}

BoundFile::~BoundFile() {
  if (ghost_) unlink(reach_.c_str());
  if (!moved_to_.empty()) (void)!rename(moved_to_.c_str(), aside_.c_str());
  for (auto it = made_dirs_.rbegin(); it != made_dirs_.rend(); ++it) rmdir(it->c_str());
  if (!scratch_.empty()) rmdir(scratch_.c_str());
}

Result<void> BoundFile::make_dirs(const std::string& dir) {
  struct stat st {};
  if (dir.empty() || dir == "/" || lstat(dir.c_str(), &st) == 0) return {};
  CR_TRY(make_dirs(parent_of(dir)));
  if (mkdir(dir.c_str(), 0700) != 0) return Error::os(format("making the gone directory %s for a moment", dir.c_str()));
  made_dirs_.push_back(dir);
  return {};
}

Result<void> BoundFile::move_aside(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return {};
  std::string to = format("%s.crest-aside-%d", path.c_str(), static_cast<int>(getpid()));
  if (rename(path.c_str(), to.c_str()) != 0) return Error::os(format("moving %s aside for a moment", path.c_str()));
  aside_ = path;
  moved_to_ = to;
  return {};
}

Result<std::unique_ptr<BoundFile>> bind_socket_file(int sock, int fd, const std::string& name, const SocketFile& file) {
  auto bound = std::make_unique<BoundFile>();
  const bool relative = name[0] != '/';
  std::string dir;
  if (relative && file.directory.empty()) {
    char tmpl[] = "/tmp/crest-unix-name-XXXXXX";
    if (!mkdtemp(tmpl)) return Error::os(format("fd %d: making a scratch directory", fd));
    dir = bound->scratch_ = tmpl;
  } else if (relative) {
    dir = file.directory;
  }
  bound->reach_ = relative ? dir + "/" + name : name;
  const std::string& path = bound->reach_;
  if (!file.present) {
    CR_TRY(bound->make_dirs(parent_of(path)), "fd %d", fd);
    CR_TRY(bound->move_aside(path), "fd %d", fd);
    bound->ghost_ = true;
  } else {
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path.c_str());  // the old process's
  }
  {
    // The kernel keeps the name as given: a relative one is bound from its directory.
    CwdKept cwd;
    if (relative && (!cwd.valid() || chdir(dir.c_str()) != 0))
      return Error::os(format("fd %d: entering %s to bind %s", fd, dir.c_str(), name.c_str()));
    CR_TRY(bind_name(sock, name), "fd %d", fd);
  }
  if (!file.present) return bound;
  if (chmod(path.c_str(), file.mode) != 0) return Error::os(format("fd %d: chmod of socket file %s", fd, path.c_str()));
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0 && (st.st_uid != file.uid || st.st_gid != file.gid) &&
      lchown(path.c_str(), file.uid, file.gid) != 0)
    return Error::os(format("fd %d: giving socket file %s its owner %u:%u", fd, path.c_str(), file.uid, file.gid));
  return bound;
}

}  // namespace crest
