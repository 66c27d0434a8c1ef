// Parsers for /proc/PID files the dumper reads.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace crest {

struct MapsEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  bool read = false, write = false, exec = false, shared = false;
  uint64_t offset = 0;
  uint32_t dev_major = 0, dev_minor = 0;
  uint64_t inode = 0;
  std::string path;   // may be empty, "[heap]", "/file", "/file (deleted)"
  std::string vm_flags;  // from smaps "VmFlags:", two-letter codes separated by spaces

  bool has_flag(const char* f) const;
};

Result<std::vector<MapsEntry>> read_smaps(pid_t pid);
// The areas of a maps or smaps text; `what` names it in errors.
Result<std::vector<MapsEntry>> parse_maps_text(std::string_view text, const std::string& what);
Result<std::vector<MapsEntry>> read_maps(pid_t pid);

// Fields of /proc/PID/stat by their man-page number (1-based); field 2 (comm) is
// returned without parentheses.
Result<std::vector<std::string>> read_stat_fields(pid_t pid);

// "Key:\tvalue" lines of /proc/PID/status; empty string when absent.
struct ProcStatus {
  std::string text;
  std::string get(const char* key) const;
};
Result<ProcStatus> read_status(pid_t pid);

std::vector<pid_t> list_tasks(pid_t pid);
std::vector<pid_t> list_children(pid_t pid);
std::vector<pid_t> list_descendants(pid_t pid);
std::vector<pid_t> list_all_pids();
// About the bytes of memory a checkpoint saves for `pid` (/proc/PID/smaps_rollup: its
// anonymous and swapped pages and its share of shared memory); 0 if unreadable. For
// progress display only.
uint64_t saved_memory_estimate(pid_t pid);

}  // namespace crest
