// FdKind::Deleted: a regular file unlinked while open, or a memfd. Its contents are saved
// (FileData sections) and it comes back as an unlinked file (a memfd as a memfd of the
// same name) with them.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "base/result.h"
#include "fds/fd_table.h"
#include "image/image_reader.h"

namespace crest {

struct ProcessImage;

struct DeletedFileRecord {
  uint64_t inode = 0;  // a shared mapping of the same inode maps the same restored file
  uint64_t size = 0;   // at checkpoint
  template <class V> void fields(V& v) { v.field("inode", inode); v.field("size", size); }
};

// A FileData section, into image.file_data.
Result<void> read_file_data(const Section& s, ProcessImage& image);
// inode -> our (prepared) descriptor of each deleted file or memfd of the image, for the
// shared mappings of them.
std::map<uint64_t, int> deleted_file_objects(const std::vector<const ProcessImage*>& images, const PreparedMap& prepared);

}  // namespace crest
