// The table of descriptor kinds (fd_kind.h). Its order is the detection order: a kind
// that is a special case of another comes before it (a deleted file before a regular
// one, a terminal before other character devices, a named FIFO before a pipe), and
// O_PATH, which any type of file may be opened with, comes first.
#include "fds/fd_kind.h"

namespace crest {

namespace {

constexpr const FdKindOps* kTable[] = {
    &kOPathKind,         // O_PATH in the open flags, on any type of file
    &kPidfdKind,         // anon_inode:[pidfd] (its pidfs inode is S_ISREG)
    &kDeletedFileKind,   // S_ISREG, unlinked, "(deleted)"
    &kRegularFileKind,   // S_ISREG
    &kDirectoryKind,     // S_ISDIR
    &kPtyMasterKind,     // S_ISCHR 5:2 (/dev/ptmx)
    &kPtySlaveKind,      // S_ISCHR 136-143 (/dev/pts/N); a Terminal if its master is not in the image
    &kTerminalKind,      // S_ISCHR, a tty major
    &kDeviceKind,        // S_ISCHR
    &kFifoKind,          // S_ISFIFO, linked by path
    &kPipeKind,          // S_ISFIFO
    &kTcpSocketKind,     // S_ISSOCK, SO_DOMAIN inet, SOCK_STREAM, IPPROTO_TCP
    &kInetDgramSocketKind,  // S_ISSOCK, SO_DOMAIN inet, SOCK_DGRAM or SOCK_RAW
    &kNetlinkSocketKind, // S_ISSOCK, SO_DOMAIN AF_NETLINK
    &kPacketSocketKind,  // S_ISSOCK, SO_DOMAIN AF_PACKET
    &kUnixSocketKind,    // S_ISSOCK
    &kEventFdKind,       // anon_inode:[eventfd]
    &kSignalFdKind,      // anon_inode:[signalfd]
    &kTimerFdKind,       // anon_inode:[timerfd]
    &kEpollKind,         // anon_inode:[eventpoll]
    &kInotifyKind,       // anon_inode:inotify
    // Never detected: given by another unit's pass.
    &kInheritedKind,     // pipe and socket units
    &kSkippedKind,       // --skip-unsupported
    &kLibcrChannelKind,  // the checkpointer, for a process with libcr
    &kLibcrHandleKind,
};

}  // namespace

std::span<const FdKindOps* const> fd_kinds() { return kTable; }

// Exhaustive, without default: a kind added to FdKind without a unit breaks the build
// here (-Wswitch).
const FdKindOps* fd_kind_ops(FdKind kind) {
  switch (kind) {
    case FdKind::Regular: return &kRegularFileKind;
    case FdKind::Deleted: return &kDeletedFileKind;
    case FdKind::Directory: return &kDirectoryKind;
    case FdKind::Device: return &kDeviceKind;
    case FdKind::Terminal: return &kTerminalKind;
    case FdKind::Inherited: return &kInheritedKind;
    case FdKind::Pipe: return &kPipeKind;
    case FdKind::EventFd: return &kEventFdKind;
    case FdKind::SignalFd: return &kSignalFdKind;
    case FdKind::TimerFd: return &kTimerFdKind;
    case FdKind::Epoll: return &kEpollKind;
    case FdKind::UnixSocket: return &kUnixSocketKind;
    case FdKind::Skipped: return &kSkippedKind;
    case FdKind::LibcrChannel: return &kLibcrChannelKind;
    case FdKind::LibcrHandle: return &kLibcrHandleKind;
    case FdKind::Fifo: return &kFifoKind;
    case FdKind::Inotify: return &kInotifyKind;
    case FdKind::OPath: return &kOPathKind;
    case FdKind::PtyMaster: return &kPtyMasterKind;
    case FdKind::PtySlave: return &kPtySlaveKind;
    case FdKind::TcpSocket: return &kTcpSocketKind;
    case FdKind::InetDgramSocket: return &kInetDgramSocketKind;
    case FdKind::NetlinkSocket: return &kNetlinkSocketKind;
    case FdKind::PacketSocket: return &kPacketSocketKind;
    case FdKind::Pidfd: return &kPidfdKind;
  }
  return nullptr;  // a number no kind has (a corrupt image)
}

const char* fd_kind_name(FdKind kind) {
  const FdKindOps* ops = fd_kind_ops(kind);
  return ops ? ops->name : "unknown kind";
}

}  // namespace crest
