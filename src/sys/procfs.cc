#include "sys/procfs.h"

#include <dirent.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "sys/io.h"

namespace crest {

bool MapsEntry::has_flag(const char* f) const {
  for (auto& v : vm_flags)
    if (v == f) return true;
  return false;
}

static bool parse_maps_line(const std::string& line, MapsEntry& e) {
  char perms[8] = {};
  unsigned long long start, end, offset, inode;
  unsigned maj, min;
  int consumed = 0;
  if (sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &offset, &maj, &min, &inode,
             &consumed) < 7)
    return false;
  e.start = start;
  e.end = end;
  e.read = perms[0] == 'r';
  e.write = perms[1] == 'w';
  e.exec = perms[2] == 'x';
  e.shared = perms[3] == 's';
  e.offset = offset;
  e.dev_major = maj;
  e.dev_minor = min;
  e.inode = inode;
  e.path = consumed > 0 && static_cast<size_t>(consumed) <= line.size() ? line.substr(consumed) : "";
  while (!e.path.empty() && e.path.back() == '\n') e.path.pop_back();
  return true;
}

static Result<std::vector<MapsEntry>> parse_maps_file(pid_t pid, const char* name) {
  std::string path = format("/proc/%d/%s", pid, name);
  auto text = CR_TRY(read_text_file(path));
  std::vector<MapsEntry> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmFlags:", 0) == 0) {
      if (out.empty()) return Error::corrupt("unexpected VmFlags line in " + path);
      std::istringstream fl(line.substr(8));
      std::string f;
      while (fl >> f) out.back().vm_flags.push_back(f);
      continue;
    }
    MapsEntry e;
    if (line.empty() || !isxdigit(static_cast<unsigned char>(line[0])) || line.find('-') == std::string::npos ||
        line.find(':') < line.find(' '))
      continue;  // an smaps "Key: value" line
    if (!parse_maps_line(line, e)) continue;
    out.push_back(std::move(e));
  }
  return out;
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

}  // namespace crest
