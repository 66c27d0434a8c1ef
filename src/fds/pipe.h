// FdKind::Pipe: one end of an anonymous pipe whose both ends are in the image, or whose
// other end is closed everywhere. cr_restart makes each pipe once, with its size and the
// bytes buffered in it (copied at checkpoint with tee(), nothing consumed: a PipeData
// section), and every end is a dup (or, for a second open file description of the same
// end, a reopen) of it. A pipe with an end held outside the image becomes Inherited.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.h"
#include "fds/fd_kind.h"
#include "fds/fd_table.h"
#include "image/image_reader.h"

namespace crest {

struct PipeRecord {
  uint64_t pipe_id = 0;  // the pipe's inode, the same for both ends
  template <class V> void fields(V& v) { v.field("pipe_id", pipe_id); }
};

// The PipeData section of `pipe_id` (its size and the bytes buffered in it), read through
// the target's fd `rec.fd`, once per pipe. Named FIFOs use it too.
Result<void> save_pipe_contents(DumpContext& ctx, const FdRecord& rec, uint64_t pipe_id, SavedObjects& saved);
// A PipeData section, into image.pipe_data.
Result<void> read_pipe_data(const Section& s, ProcessImage& image);
// Gives `pipe` its saved size and bytes (from whichever process saved them).
Result<void> refill_pipe(LocalPipe& pipe, uint64_t pipe_id, const std::vector<const ProcessImage*>& images, int fd);

}  // namespace crest
