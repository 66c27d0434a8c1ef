#include "tool_common.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace crest {

int exit_code_for(const Error& e) {
  int code = e.error_number() & 0xff;
  return code == 0 ? 1 : code;
}

static double now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

ProgressLine::ProgressLine(const char* tool, const char* what) : tool_(tool), what_(what), tty_(isatty(2)), start_(now()) {}

void ProgressLine::update(uint64_t bytes) {
  if (!tty_) return;
  double t = now();
  if (t - start_ < 1.0 || t - last_ < 0.2) return;
  last_ = t;
  shown_ = true;
  fprintf(stderr, "\r%s: %s %.1f MiB (%.1f s)   ", tool_, what_, bytes / 1048576.0, t - start_);
  fflush(stderr);
}

void ProgressLine::finish() {
  if (shown_) fprintf(stderr, "\n");
  shown_ = false;
}

Result<std::pair<std::string, std::string>> parse_relocation(const std::string& arg) {
  std::string from, to;
  bool seen_eq = false;
  for (size_t i = 0; i < arg.size(); ++i) {
    char c = arg[i];
    if (c == '\\' && i + 1 < arg.size() && (arg[i + 1] == '=' || arg[i + 1] == '\\')) {
      (seen_eq ? to : from) += arg[++i];
    } else if (c == '=' && !seen_eq) {
      seen_eq = true;
    } else {
      (seen_eq ? to : from) += c;
    }
  }
  if (!seen_eq || from.empty() || to.empty() || from[0] != '/' || to[0] != '/')
    return Error::invalid(format("--relocate '%s': expected OLD=NEW with both paths absolute", arg.c_str()));
  while (from.size() > 1 && from.back() == '/') from.pop_back();
  while (to.size() > 1 && to.back() == '/') to.pop_back();
  return std::make_pair(from, to);
}

}  // namespace crest
