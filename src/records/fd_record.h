// FdTableRecord: every open file descriptor and what it refers to.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crest {

enum class FdKind : uint8_t {
  Regular = 1,     // path, flags, offset
  Deleted = 2,     // regular file unlinked while open (or memfd); contents in a FileData section;
                   // params: [inode] (a shared mapping of the same inode maps the same file)
  Directory = 3,   // path, flags
  Device = 4,      // character device reopened by path (/dev/null, /dev/urandom...)
  Terminal = 5,    // a tty: reconnected to cr_restart's terminal
  Inherited = 6,   // pipe/socket leading outside: replaced by cr_restart's fd of that number
  Pipe = 7,        // one end of a pipe or FIFO whose both ends are in the image (pipe_id)
  EventFd = 8,     // params: [count, semaphore]
  SignalFd = 9,    // params: [signal mask]
  TimerFd = 10,    // params: [clockid, ticks, value_sec, value_nsec, interval_sec, interval_nsec]
  Epoll = 11,      // epoll: the registered fds with their events and data
  Skipped = 13,    // unsupported, left out on request (--skip-unsupported): closed at restart
  UnixSocket = 12, // params: [type, state, inode, peer inode, backlog]; path = bound name
                   // ('\0' first for the abstract namespace); queued data in SocketData
  LibcrChannel = 14,  // libcr's channel to the dumper (docs/libcr.md): at restart, one end of a
                      // new SOCK_SEQPACKET pair whose other end holds the restart's Result
  LibcrHandle = 15,   // a checkpoint request of libcr still in flight: at restart, a pipe
                      // holding one kFinished message with CR_ERESTARTED
  Fifo = 16,          // a named FIFO (mkfifo): path (reopened by path, recreated if gone or
                      // deleted); pipe_id: its id (bit 63 set); params: [mode bits, deleted];
                      // buffered bytes in PipeData, put back once
  Inotify = 17,       // an inotify instance: its watches (wd, mask, path of the watched object);
                      // events queued and not read are not saved
};

struct InotifyWatchRecord {
  int32_t wd = 0;
  uint32_t mask = 0;      // as inotify_add_watch() takes it (events and IN_* flags)
  std::string path;       // the watched file or directory
  template <class V> void fields(V& v) { v.field("wd", wd); v.field("mask", mask); v.field("path", path); }
};

struct EpollTargetRecord {
  int32_t fd = 0;
  uint32_t events = 0;
  uint64_t data = 0;
  template <class V> void fields(V& v) { v.field("fd", fd); v.field("events", events); v.field("data", data); }
};

struct FdRecord {
  int32_t fd = 0;
  FdKind kind = FdKind::Regular;
  uint8_t cloexec = 0;
  uint32_t flags = 0;     // open flags from fdinfo, without O_CLOEXEC
  uint64_t position = 0;
  uint64_t size = 0;      // file size at checkpoint
  int64_t mtime_ns = 0;   // for a warning if the file changed
  std::string path;
  // An earlier fd sharing this open file description (dup, or inherited across fork):
  // fd `same_as` of process `same_as_pid` (0 = this process); -1 if none.
  int32_t same_as = -1;
  int32_t same_as_pid = 0;
  uint64_t pipe_id = 0;   // Pipe: the pipe's inode number, the same for both ends
  std::vector<uint64_t> params;             // per kind, see FdKind
  std::vector<EpollTargetRecord> epoll;     // Epoll
  std::vector<InotifyWatchRecord> watches;  // Inotify
  template <class V> void fields(V& v) {
    v.field("fd", fd); v.field("kind", kind); v.field("cloexec", cloexec); v.field("flags", flags);
    v.field("position", position); v.field("size", size); v.field("mtime_ns", mtime_ns); v.field("path", path);
    v.field("same_as", same_as); v.field("same_as_pid", same_as_pid);
    v.field("pipe_id", pipe_id); v.field("params", params); v.field("epoll", epoll);
    v.field("watches", watches);
  }
};

struct FdTableRecord {
  std::vector<FdRecord> fds;
  template <class V> void fields(V& v) { v.field("fds", fds); }
};

}  // namespace crest
