// ProcessTreeRecord: the processes of an image, parents before children.
#pragma once

#include <cstdint>
#include <vector>

#include "records/machine_record.h"

namespace crest {

struct TreeEntryRecord {
  int32_t pid = 0, ppid = 0, pgid = 0, sid = 0;
  uint8_t zombie = 0;       // exited, not yet reaped: no other sections; restored as a zombie
  int32_t wait_status = 0;  // a zombie's status as waitpid() reports it
  template <class V> void fields(V& v) {
    v.field("pid", pid); v.field("ppid", ppid); v.field("pgid", pgid); v.field("sid", sid);
    v.field("zombie", zombie); v.field("wait_status", wait_status);
  }
};

struct ProcessTreeRecord {
  int32_t root = 0;  // the eldest top-level process: cr_restart mirrors its exit
  // Creation order: every parent before its children; zombies last. A process whose
  // parent is not in the image is top-level: cr_restart becomes its parent.
  std::vector<TreeEntryRecord> processes;
  CpuFeaturesRecord cpu;  // the checkpointing CPU (a restart refuses a CPU lacking a feature)
  template <class V> void fields(V& v) { v.field("root", root); v.field("processes", processes); v.field("cpu", cpu); }
};

}  // namespace crest
