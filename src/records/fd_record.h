// FdTableRecord: every open file descriptor of a process. Each FdRecord holds what every
// descriptor has (number, open flags, offset, sharing), its kind, and the kind's own
// record as a payload, encoded and decoded by the kind's unit in src/fds/ (the table of
// kinds: src/fds/fd_kind.h; docs/image-format.md lists every payload).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crest {

// Numbers are stable and never reused (they are in images).
enum class FdKind : uint8_t {
  Regular = 1,        // fds/regular_file: a file reopened by path
  Deleted = 2,        // fds/deleted_file: a regular file unlinked while open, or a memfd
  Directory = 3,      // fds/regular_file
  Device = 4,         // fds/regular_file: a character device reopened by path
  Terminal = 5,       // fds/terminal: reconnected to cr_restart's terminal
  Inherited = 6,      // fds/inherited: a pipe or socket leading outside the image
  Pipe = 7,           // fds/pipe: one end of a pipe of the image
  EventFd = 8,        // fds/eventfd
  SignalFd = 9,       // fds/signalfd
  TimerFd = 10,       // fds/timerfd
  Epoll = 11,         // fds/epoll
  UnixSocket = 12,    // fds/unix_socket
  Skipped = 13,       // fds/skipped: left out with --skip-unsupported, closed at restart
  LibcrChannel = 14,  // fds/libcr_fds: libcr's channel to the dumper
  LibcrHandle = 15,   // fds/libcr_fds: a libcr checkpoint request still in flight
  Fifo = 16,          // fds/fifo: a named FIFO
  Inotify = 17,       // fds/inotify
  OPath = 18,         // fds/opath: opened with O_PATH (a symlink itself with O_NOFOLLOW)
  PtyMaster = 23,     // fds/pty: /dev/ptmx, its pair recreated with its state
  PtySlave = 24,      // fds/pty: /dev/pts/N whose master is in the image
  TcpSocket = 19,     // fds/tcp_socket: IPv4/IPv6 TCP, listening or not connected
  InetDgramSocket = 20,  // fds/inet_dgram_socket: IPv4/IPv6 UDP, UDP-Lite, ICMP (ping) and raw
  NetlinkSocket = 26,  // fds/netlink_socket
  PacketSocket = 27,   // fds/packet_socket
  Pidfd = 29,          // fds/pidfd: a pidfd of a process of the image
};

// A file lock held through a descriptor (fds/file_locks): "lock:" lines of fdinfo.
enum class FileLockKind : uint8_t {
  Posix = 1,  // fcntl(F_SETLK): owned by the process
  Ofd = 2,    // fcntl(F_OFD_SETLK): owned by the open file description
  Flock = 3,  // flock(2): owned by the open file description
  Lease = 4,  // fcntl(F_SETLEASE): owned by the open file description
};

struct FileLockRecord {
  FileLockKind kind = FileLockKind::Posix;
  uint8_t write = 0;    // 1: F_WRLCK / LOCK_EX, 0: F_RDLCK / LOCK_SH
  uint64_t start = 0;   // byte range (POSIX and OFD): first byte,
  uint64_t length = 0;  // and length, 0 = to the end of the file
  template <class V> void fields(V& v) {
    v.field("kind", kind); v.field("write", write); v.field("start", start); v.field("length", length);
  }
};

// Signal-driven I/O of the open file description (fds/file_owner): its owner and signal
// (O_ASYNC itself is in FdRecord::flags).
struct FileOwnerRecord {
  int32_t owner_type = 0;  // F_OWNER_PID, or F_OWNER_TID of a process's main thread
  int32_t owner_pid = 0;   // saved pid of the owner, a process of the image sharing this file; 0 = none
  int32_t signal = 0;      // F_SETSIG; 0 = SIGIO
  template <class V> void fields(V& v) {
    v.field("owner_type", owner_type); v.field("owner_pid", owner_pid); v.field("signal", signal);
  }
};

struct FdRecord {
  int32_t fd = 0;
  FdKind kind = FdKind::Regular;
  uint8_t cloexec = 0;
  uint32_t flags = 0;     // open flags from fdinfo, without O_CLOEXEC
  uint64_t position = 0;  // fdinfo's pos
  // What /proc/PID/fd/N names: a path (without " (deleted)"), or "pipe:[N]",
  // "socket:[N]", "anon_inode:[eventfd]"...
  std::string path;
  // An earlier fd sharing this open file description (dup, or inherited across fork):
  // fd `same_as` of process `same_as_pid` (0 = this process); -1 if none. Such an fd is
  // restored as a dup of that one.
  int32_t same_as = -1;
  int32_t same_as_pid = 0;
  std::vector<uint8_t> payload;  // the kind's record (src/fds/<kind>.h), encoded
  // Locks held through this fd (a POSIX lock by this process; OFD, flock and lease locks
  // of its open file description, so also listed on every fd sharing it).
  std::vector<FileLockRecord> locks;
  FileOwnerRecord owner;
  template <class V> void fields(V& v) {
    v.field("fd", fd); v.field("kind", kind); v.field("cloexec", cloexec); v.field("flags", flags);
    v.field("position", position); v.field("path", path);
    v.field("same_as", same_as); v.field("same_as_pid", same_as_pid);
    v.field("payload", payload);
    v.field("locks", locks);
    v.field("owner", owner);
  }
};

struct FdTableRecord {
  std::vector<FdRecord> fds;
  template <class V> void fields(V& v) { v.field("fds", fds); }
};

}  // namespace crest
