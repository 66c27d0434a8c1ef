// Where a unix socket's bound path name is, and binding it again at restart.
//
// The kernel keeps the name as bind() was given it: a path relative to the binder's
// working directory at the time, and it keeps it after the socket file was unlinked, its
// directory removed, or another file (a FIFO) put at the path. At checkpoint the file is
// looked for (the path; a relative one under each holder's working directory, its parents,
// and a few levels below it) by the inode
// the socket was bound to (sock_diag UNIX_DIAG_VFS); at restart the socket is bound with
// the same name from the same directory, the file given its owner and mode, and a file
// that was gone is made gone again (bound, then unlinked), so that getsockname() and
// connect() by name answer as before.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace crest {

struct UnixSocketInfo;

struct SocketFile {
  std::string directory;  // for a relative name: the directory it is relative to ("" unknown)
  bool present = false;   // the socket file is still at the name
  uint32_t mode = 0, uid = 0, gid = 0;  // the file's, when present
};

// The file of the path-named socket `info` held by `holders` (frozen).
SocketFile locate_socket_file(const UnixSocketInfo& info, const std::vector<pid_t>& holders);

// What a bind leaves in place until the restore's connections and queues are made: a path
// by which connect() and sendto() reach the socket now, and for a file that was gone,
// what undoes it when destroyed (the socket file unlinked, a file moved aside put back,
// directories made for a moment removed).
class BoundFile {
 public:
  BoundFile() = default;
  BoundFile(const BoundFile&) = delete;
  BoundFile& operator=(const BoundFile&) = delete;
  ~BoundFile();
  const std::string& reach() const { return reach_; }

 private:
  friend Result<std::unique_ptr<BoundFile>> bind_socket_file(int, int, const std::string&, const SocketFile&);
  Result<void> make_dirs(const std::string& dir);
  Result<void> move_aside(const std::string& path);
  std::string reach_;
  bool ghost_ = false;
  std::vector<std::string> made_dirs_;  // in the order made
  std::string aside_, moved_to_;        // a file moved from aside_ to moved_to_
  std::string scratch_;                 // a scratch directory made for a relative name
};

// Binds `sock` to the path `name` as SocketFile says (see above). `fd` names it in errors.
Result<std::unique_ptr<BoundFile>> bind_socket_file(int sock, int fd, const std::string& name, const SocketFile& file);

}  // namespace crest
