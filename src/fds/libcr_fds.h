// Descriptors of libcr's own (docs/libcr.md), marked by the checkpointer for a process
// that cooperates: FdKind::LibcrChannel, its channel to the dumper, restored as one end of
// a new SOCK_SEQPACKET socketpair whose other end, kept by cr_restart, already holds the
// restart's Result; FdKind::LibcrHandle, a checkpoint request still in flight, restored as
// the read end of a pipe holding one kFinished message with CR_ERESTARTED. No payload.
#pragma once

#include "records/fd_record.h"

namespace crest {

// Makes `rec` libcr's channel (`channel`) or a request handle.
void mark_libcr_fd(FdRecord& rec, bool channel);

}  // namespace crest
