// signalfd (signalfd.h).
#include "fds/signalfd.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <cstdlib>

#include "fds/fd_kind.h"

namespace crest {

namespace {

bool detect_signalfd(const FdFacts& f) { return f.target == "anon_inode:[signalfd]"; }

Result<void> dump_signalfd(const FdFacts& f, FdRecord& rec) {
  set_payload(rec, FdKind::SignalFd, SignalFdRecord{std::strtoull(f.info.get("sigmask").c_str(), nullptr, 16)});
  return {};
}

Result<Fd> open_signalfd(FdOpenContext&, const FdRecord& rec) {
  SignalFdRecord s = CR_TRY(payload_of<SignalFdRecord>(rec));
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig = 1; sig <= 64; ++sig)
    if (s.sigmask & (1ull << (sig - 1))) sigaddset(&mask, sig);
  Fd f(signalfd(-1, &mask, SFD_CLOEXEC | (rec.flags & O_NONBLOCK)));
  if (!f.valid()) return Error::os(format("fd %d: recreating %s", rec.fd, rec.path.c_str()));
  return f;
}

}  // namespace

const FdKindOps kSignalFdKind{
    .kind = FdKind::SignalFd,
    .name = "signalfd",
    .detect = detect_signalfd,
    .dump = dump_signalfd,
    .open = open_signalfd,
    .print = print_payload<SignalFdRecord>,
};

}  // namespace crest
