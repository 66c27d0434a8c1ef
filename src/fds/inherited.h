// FdKind::Inherited: a pipe or socket leading outside the image (BLCR's "inherited" fd).
// At restart it is replaced by cr_restart's descriptor of the same number, or, for a
// pipe, by its stdin (a read end) or stdout (a write end). No payload.
#pragma once

#include "records/fd_record.h"

namespace crest {

struct RestoreOptions;

// Makes `rec` Inherited (pipe and socket units decide it).
void make_inherited(FdRecord& rec);
// Whether cr_restart was started with descriptor `fd` (only those may stand in for a
// terminal, pipe or socket that led outside the image).
bool started_with(const RestoreOptions& options, int fd);

}  // namespace crest
