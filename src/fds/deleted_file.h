// FdKind::Deleted: a regular file unlinked while open, or a memfd. Its contents are saved
// in FileData sections of at most kFileDataChunk bytes each, data only: the holes
// (SEEK_DATA / SEEK_HOLE) are not written, so a sparse file of any size costs what its
// data costs. It comes back as an unlinked file (a memfd as a memfd of the same name) of
// the same size, holes, mode and, when cr_restart may set it (root), owner. A memfd's
// seals (read with F_GET_SEALS from a pidfd_getfd duplicate) are added last, inside the
// restored process once its memory is in place; a memfd on hugetlbfs is refused.
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
  uint32_t mode = 0;   // permission bits
  uint32_t uid = 0, gid = 0;
  uint32_t seals = 0;  // a memfd's F_GET_SEALS (F_SEAL_SEAL alone: made without MFD_ALLOW_SEALING); 0 otherwise
  template <class V> void fields(V& v) {
    v.field("inode", inode); v.field("size", size); v.field("mode", mode); v.field("uid", uid); v.field("gid", gid);
    v.field("seals", seals);
  }
};

// The most bytes of file data one FileData section holds (a section may hold 1 GiB).
inline constexpr uint64_t kFileDataChunk = 32ull << 20;

// A FileData section (i32 fd, u32 0, u64 offset, then the bytes), into image.file_data.
Result<void> read_file_data(const Section& s, ProcessImage& image);
// inode -> our (prepared) descriptor of each deleted file or memfd of the image, for the
// shared mappings of them.
std::map<uint64_t, int> deleted_file_objects(const std::vector<const ProcessImage*>& images, const PreparedMap& prepared);

}  // namespace crest
