// ProcessTreeRecord: the processes of an image, parents before children.
#pragma once

#include <cstdint>
#include <vector>

namespace crest {

struct TreeEntryRecord {
  int32_t pid = 0, ppid = 0, pgid = 0, sid = 0;
  template <class V> void fields(V& v) {
    v.field("pid", pid); v.field("ppid", ppid); v.field("pgid", pgid); v.field("sid", sid);
  }
};

struct ProcessTreeRecord {
  int32_t root = 0;                       // the process cr_restart becomes the parent of
  std::vector<TreeEntryRecord> processes;  // creation order: every parent before its children
  template <class V> void fields(V& v) { v.field("root", root); v.field("processes", processes); }
};

}  // namespace crest
