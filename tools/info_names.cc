#include "info_names.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "base/format.h"
#include "tool_common.h"

namespace crest {

std::string arch_name(uint32_t elf_machine) {
  if (elf_machine == 62) return "x86_64";
  return format("ELF machine %u", elf_machine);
}

std::string signal_name(int sig) {
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig == SIGRTMIN ? "SIGRTMIN" : format("SIGRTMIN+%d", sig - SIGRTMIN);
  // Linux's 32 and 33 are glibc's own (SIGRTMIN is above them).
  if (sig >= 32 && sig < SIGRTMIN) return format("SIG%d", sig);
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : format("signal %d", sig);
}

std::string rlimit_name(size_t resource) {
  static const char* const names[] = {"CPU",    "FSIZE",   "DATA",  "STACK",      "CORE",   "RSS",
                                      "NPROC",  "NOFILE",  "MEMLOCK", "AS",       "LOCKS",  "SIGPENDING",
                                      "MSGQUEUE", "NICE",  "RTPRIO", "RTTIME"};
  if (resource < sizeof names / sizeof names[0]) return names[resource];
  return format("limit %zu", resource);
}

std::string fd_kind_label(FdKind kind) {
  switch (kind) {
    case FdKind::Regular: return "regular";
    case FdKind::Deleted: return "deleted";
    case FdKind::Directory: return "directory";
    case FdKind::Device: return "device";
    case FdKind::Terminal: return "terminal";
    case FdKind::Inherited: return "inherited";
    case FdKind::Pipe: return "pipe";
    case FdKind::EventFd: return "eventfd";
    case FdKind::SignalFd: return "signalfd";
    case FdKind::TimerFd: return "timerfd";
    case FdKind::Epoll: return "epoll";
    case FdKind::Skipped: return "skipped";
    case FdKind::UnixSocket: return "unix-socket";
    case FdKind::LibcrChannel: return "libcr-channel";
    case FdKind::LibcrHandle: return "libcr-request";
    case FdKind::Fifo: return "fifo";
    case FdKind::Inotify: return "inotify";
    case FdKind::OPath: return "opath";
    case FdKind::PtyMaster: return "pty-master";
    case FdKind::PtySlave: return "pty-slave";
    case FdKind::TcpSocket: return "tcp-socket";
    case FdKind::InetDgramSocket: return "inet-dgram-socket";
    case FdKind::NetlinkSocket: return "netlink-socket";
    case FdKind::PacketSocket: return "packet-socket";
    case FdKind::Pidfd: return "pidfd";
  }
  return format("kind %u", static_cast<unsigned>(kind));
}

std::string vma_kind_name(VmaKind kind) {
  switch (kind) {
    case VmaKind::Anonymous: return "anonymous";
    case VmaKind::FilePrivate: return "file-private";
    case VmaKind::FileShared: return "file-shared";
    case VmaKind::SharedAnon: return "shared-anonymous";
    case VmaKind::Vdso: return "vdso";
    case VmaKind::DeletedPrivate: return "deleted-private";
    case VmaKind::SysvShm: return "sysv-shm";
  }
  return format("kind %u", static_cast<unsigned>(kind));
}

std::string limit_value(size_t resource, uint64_t value) {
  if (value == RLIM_INFINITY) return "unlimited";
  switch (resource) {
    case RLIMIT_FSIZE: case RLIMIT_DATA: case RLIMIT_STACK: case RLIMIT_CORE: case RLIMIT_RSS:
    case RLIMIT_MEMLOCK: case RLIMIT_AS: case RLIMIT_MSGQUEUE:
      return value % 1024 == 0 || value > 1024 * 1024 ? byte_size(value) : format("%llu B", static_cast<unsigned long long>(value));
  }
  return format("%llu", static_cast<unsigned long long>(value));
}

}  // namespace crest
