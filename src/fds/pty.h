// FdKind::PtyMaster / PtySlave: a pseudo-terminal pair (/dev/ptmx and /dev/pts/N) whose
// master is in the image. cr_restart makes a new pair per saved pty (its index N may
// differ: the slave's path changes) with the saved termios, window size, packet mode,
// lock, exclusive mode and the bytes queued in both directions, then reopens every
// master fd as a dup of the new master and every slave fd with TIOCGPTPEER. A slave
// whose master is not in the image is a Terminal (cr_restart's terminal, as BLCR).
#pragma once

#include <cstdint>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "records/fd_record.h"

namespace crest {

// The line discipline's settings (struct termios2, TCGETS2: the slave's, which the
// master's termios ioctls act on too).
struct TermiosRecord {
  uint32_t iflag = 0, oflag = 0, cflag = 0, lflag = 0;
  uint8_t line = 0;
  std::vector<uint8_t> cc;  // c_cc[NCCS]
  uint32_t ispeed = 0, ospeed = 0;
  template <class V> void fields(V& v) {
    v.field("iflag", iflag); v.field("oflag", oflag); v.field("cflag", cflag); v.field("lflag", lflag);
    v.field("line", line); v.field("cc", cc); v.field("ispeed", ispeed); v.field("ospeed", ospeed);
  }
};

struct PtyMasterRecord {
  uint32_t index = 0;   // N of /dev/pts/N at checkpoint (TIOCGPTN)
  // The pair's state is in the first master record of each index (has_state = 1); the
  // other fds of that master only name it.
  uint8_t has_state = 0;
  TermiosRecord termios;
  uint16_t rows = 0, cols = 0, xpixel = 0, ypixel = 0;  // TIOCGWINSZ
  uint8_t packet = 0;            // TIOCGPKT
  uint8_t locked = 0;            // TIOCGPTLCK
  uint8_t exclusive = 0;         // TIOCGEXCL on the master
  uint8_t slave_exclusive = 0;   // TIOCGEXCL on the slave
  std::vector<uint8_t> to_master;  // written by the slave, not yet read from the master
  std::vector<uint8_t> to_slave;   // input written to the master, not yet read from the slave
  template <class V> void fields(V& v) {
    v.field("index", index); v.field("has_state", has_state); v.field("termios", termios);
    v.field("rows", rows); v.field("cols", cols); v.field("xpixel", xpixel); v.field("ypixel", ypixel);
    v.field("packet", packet); v.field("locked", locked); v.field("exclusive", exclusive);
    v.field("slave_exclusive", slave_exclusive);
    v.field("to_master", to_master); v.field("to_slave", to_slave);
  }
};

struct PtySlaveRecord {
  uint32_t index = 0;  // N of /dev/pts/N at checkpoint
  template <class V> void fields(V& v) { v.field("index", index); }
};

// The termios of a terminal (TCGETS2) and back (TCSETS2).
Result<TermiosRecord> read_termios(int fd);
Result<void> write_termios(int fd, const TermiosRecord& t);

// A new pty of the restart: its master, and one slave open file description that keeps
// the slave open until every process has its fds.
struct LocalPty {
  Fd master, slave;
  bool locked = false;
};

}  // namespace crest
