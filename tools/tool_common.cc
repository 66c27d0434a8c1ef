#include "tool_common.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "libcr/protocol.h"
#include "sys/io.h"

namespace crest {

std::string byte_size(uint64_t bytes) {
  if (bytes < 1024) return format("%llu B", static_cast<unsigned long long>(bytes));
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = bytes / 1024.0;
  size_t u = 0;
  while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) v /= 1024, ++u;
  return format("%.1f %s", v, units[u]);
}

int exit_code_for(const Error& e) {
  int code = e.error_number() & 0xff;
  return code == 0 ? 1 : code;
}

static double now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

Result<ProgressStyle> parse_progress(const char* spec) {
  ProgressStyle style;
  std::string s = spec;
  if (s == "none") style.kind = ProgressStyle::None;
  else if (s == "tty") style.kind = ProgressStyle::Live;
  else if (s == "lines") style.kind = ProgressStyle::Lines;
  else if (s.rfind("lines:", 0) == 0) {
    char* end;
    style.kind = ProgressStyle::Lines;
    style.interval = strtod(s.c_str() + 6, &end);
    if (end == s.c_str() + 6 || *end || !(style.interval > 0) || style.interval > 86400)
      return Error::invalid(format("--progress=%s: the interval is not a number of seconds", spec));
  } else {
    return Error::invalid(format("--progress=%s: none, tty, lines or lines:SECONDS", spec));
  }
  return style;
}

ProgressLine::ProgressLine(const char* tool, const char* what, ProgressStyle style)
    : tool_(tool), what_(what), style_(style), explicit_(style.kind != ProgressStyle::Auto), tty_(isatty(2)), start_(now()) {
  if (style_.kind == ProgressStyle::Auto) style_.kind = tty_ ? ProgressStyle::Live : ProgressStyle::Lines;
}

void ProgressLine::set_total(uint64_t bytes) { total_ = bytes; }

std::string ProgressLine::text(uint64_t bytes, double elapsed) const {
  if (total_ == 0) return format("%s: %.1f MiB %s, %.1f s", tool_, bytes / 1048576.0, what_, elapsed);
  double percent = std::min(99.0, 100.0 * bytes / total_);
  return format("%s: %2.0f%% %.1f of %.1f MiB %s, %.1f s", tool_, percent, bytes / 1048576.0,
                std::max(bytes, total_) / 1048576.0, what_, elapsed);
}

void ProgressLine::update(uint64_t bytes) {
  double t = now();
  if (style_.kind == ProgressStyle::Live) {
    // Chosen (--progress=tty): at once; by default: once the job has taken a second.
    if (t - start_ < (explicit_ ? 0.0 : 1.0) || t - last_ < 0.2) return;
    fprintf(stderr, "\r%s   ", text(bytes, t - start_).c_str());
    shown_ = true;
  } else if (style_.kind == ProgressStyle::Lines) {
    if (t - std::max(start_, last_) < style_.interval) return;
    fprintf(stderr, "%s\n", text(bytes, t - start_).c_str());
  } else {
    return;
  }
  last_ = t;
  ever_shown_ = true;
  fflush(stderr);
}

void ProgressLine::summary(uint64_t bytes, const char* verb, const std::string& where) {
  finish();
  if (style_.kind == ProgressStyle::None || !(tty_ || ever_shown_ || explicit_)) return;
  double elapsed = std::max(now() - start_, 1e-6);
  fprintf(stderr, "%s: %s %s to %s in %.2f s (%.1f MiB/s)\n", tool_, verb, byte_size(bytes).c_str(), where.c_str(), elapsed,
          bytes / 1048576.0 / elapsed);
}

void ProgressLine::finish() {
  if (shown_) fprintf(stderr, "\n");
  shown_ = false;
}

WarningCapture::WarningCapture(const char* tool, bool quiet) : prefix_(format("%s: warning: ", tool)), quiet_(quiet) {
  fflush(stderr);
  saved_ = stderr;
  cookie_io_functions_t io{nullptr, &WarningCapture::write, nullptr, nullptr};
  if (FILE* f = fopencookie(this, "w", io)) {
    setvbuf(f, nullptr, _IONBF, 0);
    stderr = f;
  }
}

WarningCapture::~WarningCapture() { stop(); }

void WarningCapture::stop() {
  if (saved_ && stderr != saved_) {
    FILE* f = stderr;
    stderr = saved_;
    fclose(f);
  }
  if (!pending_.empty() && !quiet_) fputs(pending_.c_str(), stderr);
  pending_.clear();
}

ssize_t WarningCapture::write(void* cookie, const char* buf, size_t size) {
  auto* self = static_cast<WarningCapture*>(cookie);
  std::string& p = self->pending_;
  const std::string& prefix = self->prefix_;
  p.append(buf, size);
  while (!p.empty()) {
    size_t n = std::min(p.size(), prefix.size());
    size_t nl = p.find('\n');
    if (p.compare(0, n, prefix, 0, n) != 0) {
      // Not a warning: through at once (a progress line has no newline).
      size_t len = nl == std::string::npos ? p.size() : nl + 1;
      if (!self->quiet_) fwrite(p.data(), 1, len, self->saved_);
      p.erase(0, len);
      continue;
    }
    if (nl == std::string::npos) break;  // the rest of a warning is still to come
    self->lines_.push_back(p.substr(prefix.size(), nl - prefix.size()));
    p.erase(0, nl + 1);
  }
  return static_cast<ssize_t>(size);
}

void print_warnings(const char* tool, const std::vector<std::string>& lines, Kmsg kmsg, bool failed, bool quiet) {
  if (quiet || kmsg == Kmsg::None) return;
  bool listed = kmsg == Kmsg::Warning || failed;
  for (const std::string& line : lines)
    if (listed)
      fprintf(stderr, "- %s\n", line.c_str());
    else
      fprintf(stderr, "%s: warning: %s\n", tool, line.c_str());
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

void send_handle(int fd, uint32_t type, int err, const std::string& log, int32_t leader) {
  using namespace libcr_proto;
  HandleMsg m{};
  m.magic = kMagic;
  m.type = type;
  m.err = err;
  m.log_len = static_cast<uint32_t>(log.size());
  m.leader = leader;
  (void)write_all(fd, &m, sizeof m);
  if (!log.empty()) (void)write_all(fd, log.data(), log.size());
}

void refuse_request(int fd) {
  send_handle(fd, libcr_proto::kAccepted, EINVAL, "");
  send_handle(fd, libcr_proto::kFinished, EINVAL, "");
}

}  // namespace crest
