// ProcessRecord: identity and per-process kernel state other than memory, threads and fds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crest {

struct RlimitRecord {
  uint64_t cur = 0, max = 0;
  template <class V> void fields(V& v) { v.field("cur", cur); v.field("max", max); }
};

struct ProcessRecord {
  int32_t pid = 0, ppid = 0, pgid = 0, sid = 0;
  std::string comm;
  std::string exe;          // /proc/PID/exe target
  std::string cwd;
  std::string root;
  uint32_t umask = 022;
  uint32_t personality = 0;
  std::vector<uint32_t> uids;   // real, effective, saved, fs
  std::vector<uint32_t> gids;
  std::vector<uint32_t> groups;
  std::vector<RlimitRecord> rlimits;  // indexed by RLIMIT_*
  // 0: running when checkpointed; else in group stop, by this signal (SIGSTOP, SIGTSTP,
  // SIGTTIN, SIGTTOU; 1 in older images: SIGSTOP).
  uint8_t was_stopped = 0;
  // mm fields for prctl(PR_SET_MM_MAP)
  uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0;
  uint64_t start_brk = 0, brk = 0, start_stack = 0;
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  std::vector<uint8_t> auxv;

  template <class V> void fields(V& v) {
    v.field("pid", pid); v.field("ppid", ppid); v.field("pgid", pgid); v.field("sid", sid);
    v.field("comm", comm); v.field("exe", exe); v.field("cwd", cwd); v.field("root", root);
    v.field("umask", umask); v.field("personality", personality);
    v.field("uids", uids); v.field("gids", gids); v.field("groups", groups);
    v.field("rlimits", rlimits); v.field("was_stopped", was_stopped);
    v.field("start_code", start_code); v.field("end_code", end_code);
    v.field("start_data", start_data); v.field("end_data", end_data);
    v.field("start_brk", start_brk); v.field("brk", brk); v.field("start_stack", start_stack);
    v.field("arg_start", arg_start); v.field("arg_end", arg_end);
    v.field("env_start", env_start); v.field("env_end", env_end);
    v.field("auxv", auxv);
  }
};

}  // namespace crest
