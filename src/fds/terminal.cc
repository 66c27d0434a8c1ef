// FdKind::Terminal: a tty (/dev/pts/N, /dev/ttyN, /dev/tty, /dev/console...). As in
// BLCR, it is reconnected at restart to cr_restart's terminal. No payload.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fds/fd_kind.h"
#include "fds/inherited.h"
#include "restore/restorer.h"

namespace crest {

namespace {

bool detect_terminal(const FdFacts& f) {
  if (!S_ISCHR(f.st.st_mode)) return false;
  unsigned maj = major(f.st.st_rdev);
  // 136-143: /dev/pts/N; 4: /dev/ttyN, /dev/ttySN; 5: /dev/tty, /dev/console, /dev/ptmx
  return (maj >= 136 && maj <= 143) || maj == 4 || maj == 5;
}

Result<Fd> open_terminal(FdOpenContext& c, const FdRecord& rec) {
  if (started_with(c.options, rec.fd) && isatty(rec.fd)) return Fd(fcntl(rec.fd, F_DUPFD_CLOEXEC, 0));
  for (int fd = 0; fd <= 2; ++fd)
    if (started_with(c.options, fd) && isatty(fd)) return Fd(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  Fd f(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (f.valid()) return f;
  return Error::os(format("fd %d was a terminal (%s), and cr_restart has no terminal to connect it to", rec.fd, rec.path.c_str()),
                   ENOTTY);
}

}  // namespace

const FdKindOps kTerminalKind{
    .kind = FdKind::Terminal,
    .name = "terminal",
    .detect = detect_terminal,
    .open = open_terminal,
    .print = print_payload<NoPayload>,
};

}  // namespace crest
