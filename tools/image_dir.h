// Directory images (cr_checkpoint -d DIR, cr_restart -d DIR): one file context.PID per
// process of the image, each a valid image of its own (docs/image-format.md, "Directory
// images"). The engine still writes and reads one stream: cr_checkpoint splits that
// stream into the files, cr_restart joins the files back into the stream.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace crest {

// Reads an image stream from `in` to its trailer and writes one image per live process
// of its tree: `dir`/.context.PID.tmp (mode 0400), fsync'ed when `sync`. Returns the
// pids in the tree's order. On failure the temporary files are removed.
Result<std::vector<pid_t>> split_image(int in, const std::string& dir, bool sync);

// Renames every `dir`/.context.PID.tmp over `dir`/context.PID. With `noclobber`, fails
// with EEXIST (before renaming any) if one of them exists; with `backup`, an existing
// context.PID is first renamed to context.PID.~N~ (the first unused N). The temporary
// files are removed on failure.
Result<void> commit_split(const std::string& dir, const std::vector<pid_t>& pids, bool noclobber, bool backup);
void discard_split(const std::string& dir, const std::vector<pid_t>& pids);

// Reads `dir`/context.PID for every live process of the tree and writes the image they
// make together to `out`, in the order one stream has (the tree, each process's
// metadata, then each process's pages, one trailer). Every file's checksums and
// trailer are verified on the way.
Result<void> join_image(const std::string& dir, int out);

}  // namespace crest
