// Whole-buffer reads and writes on local descriptors, and small file helpers.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace crest {

Result<void> write_all(int fd, const void* data, size_t size);
// Reads exactly `size` bytes; a short stream is an error of kind CorruptImage ("truncated").
// With `cancel` >= 0, waits with poll() and gives up (ECANCELED) once `cancel` is readable.
Result<void> read_exact(int fd, void* data, size_t size, const char* what, int cancel = -1);
// The same, but the end of the stream before `size` bytes is not an error: returns the
// bytes read (fewer than `size` only at the end of the stream).
Result<size_t> read_up_to(int fd, void* data, size_t size, int cancel = -1);
Result<std::string> read_text_file(const std::string& path);
Result<std::string> read_link(const std::string& path);
// A duplicate of another process's descriptor (pidfd_open + pidfd_getfd, Linux 5.6): the
// same open file description, for queries that consume nothing.
Result<Fd> dup_target_fd(pid_t pid, int fd);

}  // namespace crest
