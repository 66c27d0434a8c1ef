// FdKind::Terminal: a terminal whose other side is not in the image (the job's stdin on
// the user's terminal, /dev/tty, /dev/console, a virtual console or serial line). As in
// BLCR, /dev/tty and a pty slave whose master is outside are reconnected at restart to
// cr_restart's terminal, which gets the saved termios; /dev/console, /dev/ttyN and
// /dev/ttySN are reopened by path, and refused by name where they cannot be.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "base/result.h"
#include "fds/pty.h"

namespace crest {

struct TerminalRecord {
  uint64_t device = 0;  // st_rdev; for /dev/tty, the process's controlling terminal's
  uint8_t has_termios = 0;
  TermiosRecord termios;
  template <class V> void fields(V& v) { v.field("device", device); v.field("has_termios", has_termios); v.field("termios", termios); }
};

// The record of fd `fd` of `pid` (frozen), a terminal of device `device`.
Result<TerminalRecord> read_terminal(pid_t pid, int fd, uint64_t device);
// The record of a Terminal fd (empty in images of older crest: no termios).
Result<TerminalRecord> terminal_payload(const FdRecord& rec);

}  // namespace crest
