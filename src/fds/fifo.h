// FdKind::Fifo: a named FIFO (mkfifo): an fd whose inode is a FIFO and whose /proc link
// is a path, not "pipe:[N]". Saved by path, as BLCR did, with its mode and the bytes
// buffered in it (a PipeData section with the FIFO's id, from any end, once per FIFO).
// At restart cr_restart opens each FIFO once with O_RDWR | O_NONBLOCK (a FIFO opened that
// way never waits for the other side, and it keeps both sides open until every process
// has its ends), puts its buffered bytes back once, then every end is a reopen of that
// holder with the end's own flags. A FIFO deleted while open is made anew and unlinked
// again; one whose path is gone is made again at its path, with a warning.
#pragma once

#include <cstdint>

namespace crest {

struct FifoRecord {
  // Its own id space, apart from pipefs inode numbers (pipe_id of anonymous pipes): bit
  // 63 set, the device in bits 40-62 xor the inode. The same for every end.
  uint64_t fifo_id = 0;
  uint32_t mode = 0;    // permission bits
  uint8_t deleted = 0;  // unlinked while open
  template <class V> void fields(V& v) { v.field("fifo_id", fifo_id); v.field("mode", mode); v.field("deleted", deleted); }
};

}  // namespace crest
