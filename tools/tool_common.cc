#include "tool_common.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "libcr/protocol.h"
#include "sys/io.h"

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
