// CredentialsRecord: one thread's credentials. Linux keeps them per thread (task->cred);
// glibc's setuid() family makes them equal across threads with signals, raw syscalls do
// not, so every thread has its own record (ThreadRecord::creds).
#pragma once

#include <cstdint>
#include <vector>

namespace crest {

struct CredentialsRecord {
  std::vector<uint32_t> uids;    // real, effective, saved, fs (/proc/PID/task/TID/status "Uid:")
  std::vector<uint32_t> gids;    // the same for groups ("Gid:")
  std::vector<uint32_t> groups;  // supplementary groups ("Groups:")
  // Capability sets as bit masks ("CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:").
  uint64_t cap_inheritable = 0, cap_permitted = 0, cap_effective = 0, cap_bounding = 0, cap_ambient = 0;
  uint32_t securebits = 0;       // prctl(PR_GET_SECUREBITS), injected into the thread

  template <class V> void fields(V& v) {
    v.field("uids", uids); v.field("gids", gids); v.field("groups", groups);
    v.field("cap_inheritable", cap_inheritable); v.field("cap_permitted", cap_permitted);
    v.field("cap_effective", cap_effective); v.field("cap_bounding", cap_bounding);
    v.field("cap_ambient", cap_ambient); v.field("securebits", securebits);
  }
};

}  // namespace crest
