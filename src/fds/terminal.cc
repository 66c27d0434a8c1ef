// Terminals whose other side is not in the image (terminal.h).
#include "fds/terminal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fds/fd_kind.h"
#include "fds/inherited.h"
#include "restore/restorer.h"
#include "sys/io.h"
#include "sys/procfs.h"

namespace crest {

namespace {

constexpr unsigned kVtMajor = 4, kTtyMajor = 5, kDevTtyMinor = 0, kConsoleMinor = 1;

bool detect_terminal(const FdFacts& f) {
  if (!S_ISCHR(f.st.st_mode)) return false;
  unsigned maj = major(f.st.st_rdev);
  // 136-143: /dev/pts/N; 4: /dev/ttyN, /dev/ttySN; 5: /dev/tty, /dev/console
  return (maj >= 136 && maj <= 143) || maj == kVtMajor || maj == kTtyMajor;
}

Result<void> dump_terminal(const FdFacts& f, FdRecord& rec) {
  uint64_t device = f.st.st_rdev;
  if (major(device) == kTtyMajor && minor(device) == kDevTtyMinor) {
    // /dev/tty stands for the controlling terminal (tty_nr: minor bits 0-7 and 20-31).
    auto stat = CR_TRY(read_stat_fields(f.pid));
    uint64_t nr = stat.size() > 7 ? std::stoull(stat[7]) : 0;
    if (nr) device = makedev((nr >> 8) & 0xfff, (nr & 0xff) | ((nr >> 12) & 0xfff00));
  }
  set_payload(rec, FdKind::Terminal, CR_TRY(read_terminal(f.pid, f.fd, device)));
  return {};
}

// A console or virtual console / serial line: the device itself, by path.
bool reopened_by_path(const TerminalRecord& t, const std::string& path) {
  unsigned maj = major(t.device), min = minor(t.device);
  return maj == kVtMajor || (maj == kTtyMajor && min == kConsoleMinor) || path == "/dev/console";
}

Result<Fd> cr_restart_terminal(FdOpenContext& c, const FdRecord& rec) {
  if (started_with(c.options, rec.fd) && isatty(rec.fd)) return Fd(fcntl(rec.fd, F_DUPFD_CLOEXEC, 0));
  for (int fd = 0; fd <= 2; ++fd)
    if (started_with(c.options, fd) && isatty(fd)) return Fd(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  Fd f(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (f.valid()) return f;
  return Error::os(format("fd %d was a terminal (%s), and cr_restart has no terminal to connect it to", rec.fd, rec.path.c_str()),
                   ENOTTY);
}

Result<Fd> open_terminal(FdOpenContext& c, const FdRecord& rec) {
  TerminalRecord t = CR_TRY(terminal_payload(rec));
  if (reopened_by_path(t, rec.path)) {
    Fd f(::open(c.path.c_str(), (rec.flags & (O_ACCMODE | O_NONBLOCK | O_APPEND)) | O_NOCTTY | O_CLOEXEC));
    if (!f.valid()) return Error::os(format("fd %d: the terminal %s cannot be reopened", rec.fd, c.path.c_str()));
    return f;
  }
  Fd f = CR_TRY(cr_restart_terminal(c, rec));
  if (t.has_termios) CR_TRY(write_termios(f.get(), t.termios), "fd %d: the saved termios on cr_restart's terminal", rec.fd);
  return f;
}

}  // namespace

Result<TerminalRecord> read_terminal(pid_t pid, int fd, uint64_t device) {
  TerminalRecord t;
  t.device = device;
  Fd dup = CR_TRY(dup_target_fd(pid, fd));
  auto termios = read_termios(dup.get());
  if (termios) {  // (a hung-up terminal has none)
    t.has_termios = 1;
    t.termios = *termios;
  }
  return t;
}

Result<TerminalRecord> terminal_payload(const FdRecord& rec) {
  if (rec.payload.empty()) return TerminalRecord{};
  return payload_of<TerminalRecord>(rec);
}

namespace {

Result<void> print_terminal(const FdRecord& rec, std::string& out, int indent) {
  TerminalRecord t = CR_TRY(terminal_payload(rec));
  Printer p(out, indent);
  t.fields(p);
  return {};
}

}  // namespace

const FdKindOps kTerminalKind{
    .kind = FdKind::Terminal,
    .name = "terminal",
    .detect = detect_terminal,
    .dump = dump_terminal,
    .open = open_terminal,
    .print = print_terminal,
};

}  // namespace crest
