// FdKind::OPath: a descriptor opened with O_PATH, on any kind of file, including a
// symlink itself (O_PATH | O_NOFOLLOW). It does no I/O and has no offset: it is reopened
// by path with O_PATH and its O_NOFOLLOW / O_DIRECTORY flags, and must find the same type
// of object there (a symlink again for a symlink). One on a deleted file is refused.
#pragma once

#include <cstdint>

namespace crest {

struct OPathRecord {
  uint32_t type = 0;  // S_IFMT bits of the object: S_IFREG, S_IFDIR, S_IFLNK...
  template <class V> void fields(V& v) { v.field("type", type); }
};

}  // namespace crest
