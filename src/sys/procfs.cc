#include "sys/procfs.h"

#include <dirent.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string_view>

#include "sys/io.h"

namespace crest {

bool MapsEntry::has_flag(const char* f) const {
  // vm_flags holds the two-letter codes separated by spaces: "rd wr mr mw me ac sd".
  const size_t n = strlen(f);
  for (size_t pos = 0; pos + n <= vm_flags.size();) {
    size_t end = vm_flags.find(' ', pos);
    if (end == std::string::npos) end = vm_flags.size();
    if (end - pos == n && vm_flags.compare(pos, n, f) == 0) return true;
    pos = end + 1;
  }
  return false;
}

namespace {

// A hand-written reader of the fixed head of a maps line (sscanf was a tenth of the time
// of a checkpoint of 10,000 areas): "START-END PERMS OFFSET MAJ:MIN INODE   PATH".
class LineCursor {
 public:
  LineCursor(const char* p, const char* end) : p_(p), end_(end) {}
  bool hex(uint64_t& v) { return number(v, 16); }
  bool dec(uint64_t& v) { return number(v, 10); }
  bool expect(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool word(std::string_view& w) {
    const char* s = p_;
    while (p_ != end_ && *p_ != ' ') ++p_;
    w = std::string_view(s, p_ - s);
    return p_ != s;
  }
  void skip_spaces() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t')) ++p_;
  }
  std::string_view rest() const { return std::string_view(p_, end_ - p_); }

 private:
  bool number(uint64_t& v, int base) {
    const char* s = p_;
    v = 0;
    for (; p_ != end_; ++p_) {
      int d;
      char c = *p_;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (base == 16 && c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (base == 16 && c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        break;
      v = v * base + d;
    }
    return p_ != s;
  }
  const char* p_;
  const char* end_;
};

bool parse_maps_line(const char* line, const char* eol, MapsEntry& e) {
  LineCursor c(line, eol);
  uint64_t maj, min;
  std::string_view perms;
  if (!c.hex(e.start) || !c.expect('-') || !c.hex(e.end) || !c.expect(' ') || !c.word(perms) || perms.size() < 4 ||
      !c.expect(' ') || !c.hex(e.offset) || !c.expect(' ') || !c.hex(maj) || !c.expect(':') || !c.hex(min) ||
      !c.expect(' ') || !c.dec(e.inode))
    return false;
  e.read = perms[0] == 'r';
  e.write = perms[1] == 'w';
  e.exec = perms[2] == 'x';
  e.shared = perms[3] == 's';
  e.dev_major = static_cast<uint32_t>(maj);
  e.dev_minor = static_cast<uint32_t>(min);
  c.skip_spaces();
  e.path = std::string(c.rest());
  return true;
}

}  // namespace

Result<std::vector<MapsEntry>> parse_maps_text(std::string_view text, const std::string& what) {
  std::vector<MapsEntry> out;
  const char* p = text.data();
  const char* const end = p + text.size();
  constexpr std::string_view kVmFlags = "VmFlags:";
  while (p < end) {
    const char* eol = static_cast<const char*>(memchr(p, '\n', end - p));
    if (!eol) eol = end;
    std::string_view line(p, eol - p);
    if (line.substr(0, kVmFlags.size()) == kVmFlags) {
      if (out.empty()) return Error::corrupt("unexpected VmFlags line in " + what);
      line.remove_prefix(kVmFlags.size());
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
      out.back().vm_flags = std::string(line);
    } else {
      // Not every line is an area: smaps's "Key: value" lines fail the parse and are skipped
      // (some begin with a hex digit, as "Anonymous:", but none with "HEX-HEX ").
      MapsEntry e;
      if (parse_maps_line(p, eol, e)) out.push_back(std::move(e));
    }
    p = eol < end ? eol + 1 : end;
  }
  return out;
}

static Result<std::vector<MapsEntry>> parse_maps_file(pid_t pid, const char* name) {
  std::string path = format("/proc/%d/%s", pid, name);
  auto text = CR_TRY(read_text_file(path));
  return parse_maps_text(text, path);
}

Result<std::vector<MapsEntry>> read_smaps(pid_t pid) { return parse_maps_file(pid, "smaps"); }
Result<std::vector<MapsEntry>> read_maps(pid_t pid) { return parse_maps_file(pid, "maps"); }

Result<std::vector<std::string>> read_stat_fields(pid_t pid) {
  auto text = CR_TRY(read_text_file(format("/proc/%d/stat", pid)));
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return Error::corrupt("malformed /proc/PID/stat");
  std::vector<std::string> f;
  f.push_back("");  // 1-based
  f.push_back(text.substr(0, open - 1));
  f.push_back(text.substr(open + 1, close - open - 1));
  std::istringstream in(text.substr(close + 2));
  std::string s;
  while (in >> s) f.push_back(s);
  return f;
}

std::string ProcStatus::get(const char* key) const {
  std::string k = std::string(key) + ":";
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    if (text.compare(pos, k.size(), k) == 0) {
      size_t v = pos + k.size();
      while (v < eol && (text[v] == ' ' || text[v] == '\t')) ++v;
      return text.substr(v, eol - v);
    }
    pos = eol + 1;
  }
  return {};
}

Result<ProcStatus> read_status(pid_t pid) {
  auto text = CR_TRY(read_text_file(format("/proc/%d/status", pid)));
  return ProcStatus{std::move(text)};
}

static std::vector<pid_t> list_numeric_dir(const std::string& path) {
  std::vector<pid_t> out;
  DIR* d = opendir(path.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d))
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9') out.push_back(atoi(e->d_name));
  closedir(d);
  return out;
}

std::vector<pid_t> list_tasks(pid_t pid) { return list_numeric_dir(format("/proc/%d/task", pid)); }

std::vector<pid_t> list_children(pid_t pid) {
  std::vector<pid_t> out;
  for (pid_t tid : list_tasks(pid)) {
    auto text = read_text_file(format("/proc/%d/task/%d/children", pid, tid));
    if (!text) continue;
    std::istringstream in(*text);
    pid_t c;
    while (in >> c) out.push_back(c);
  }
  return out;
}

std::vector<pid_t> list_descendants(pid_t pid) {
  std::vector<pid_t> out;
  std::vector<pid_t> todo{pid};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    for (pid_t c : list_children(p)) {
      out.push_back(c);
      todo.push_back(c);
    }
  }
  return out;
}

std::vector<pid_t> list_all_pids() { return list_numeric_dir("/proc"); }

uint64_t saved_memory_estimate(pid_t pid) {
  FILE* f = fopen(format("/proc/%d/smaps_rollup", pid).c_str(), "re");
  if (!f) return 0;
  uint64_t kib = 0;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    unsigned long long v;
    if (sscanf(line, "Anonymous: %llu kB", &v) == 1 || sscanf(line, "Swap: %llu kB", &v) == 1 ||
        sscanf(line, "Pss_Shmem: %llu kB", &v) == 1)
      kib += v;
  }
  fclose(f);
  return kib * 1024;
}

}  // namespace crest
