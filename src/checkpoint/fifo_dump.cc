// Named FIFOs (mkfifo'd files): an fd whose inode is a FIFO and whose /proc link is a
// path rather than "pipe:[N]". It is saved by path, as BLCR did (docs/design.md), with
// the bytes buffered in it (write_pipe_data saves them, from any end, once per FIFO).
#include <sys/stat.h>

#include <cstring>

#include "checkpoint/dump_context.h"

namespace crest {

bool is_named_fifo(const std::string& link_target) { return !link_target.empty() && link_target[0] == '/'; }

void classify_fifo(const struct stat& st, FdRecord& rec) {
  rec.kind = FdKind::Fifo;
  // Its own id space, apart from pipefs inode numbers (pipe_id of anonymous pipes): bit
  // 63, the device in the high bits, the inode in the low ones.
  rec.pipe_id = (1ull << 63) | (((static_cast<uint64_t>(st.st_dev) & 0x7fffff) << 40) ^ static_cast<uint64_t>(st.st_ino));
  const char* deleted_suffix = " (deleted)";
  bool deleted = st.st_nlink == 0 && rec.path.size() > strlen(deleted_suffix) &&
                 rec.path.compare(rec.path.size() - strlen(deleted_suffix), std::string::npos, deleted_suffix) == 0;
  if (deleted) rec.path.resize(rec.path.size() - strlen(deleted_suffix));
  rec.params = {static_cast<uint64_t>(st.st_mode & 07777), deleted ? 1u : 0u};
  rec.size = 0;
  rec.position = 0;
}

}  // namespace crest
