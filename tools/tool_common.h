// What the three tools share: BLCR's exit codes, progress lines, --relocate parsing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace crest {

inline constexpr int kExitUsage = 255;  // BLCR: usage errors exit(-1)

// "512 B", "4.0 KiB", "1.5 GiB".
std::string byte_size(uint64_t bytes);

// BLCR's contract: the errno value, truncated to 8 bits; never 0 for a failure.
int exit_code_for(const Error& e);

// --progress=WHEN: how a long job shows how far it got on stderr.
struct ProgressStyle {
  enum Kind { Auto, None, Live, Lines } kind = Auto;  // Auto: Live on a terminal, else Lines
  double interval = 10;  // seconds between Lines
};
// "none", "tty", "lines" or "lines:SECONDS".
Result<ProgressStyle> parse_progress(const char* spec);

// Progress on stderr. Live: one line rewritten in place ("\r<tool>: 45% 120.3 of 267.0
// MiB written, 1.2 s"), shown once the job has taken a second (at once if chosen). Lines: the same as plain
// lines every `interval` seconds, for logs. With a total, a percentage (an estimate: it
// stays below 100 until the end).
class ProgressLine {
 public:
  ProgressLine(const char* tool, const char* what, ProgressStyle style = {});
  void set_total(uint64_t bytes);
  void update(uint64_t bytes);
  // Ends the live line.
  void finish();
  // Ends the live line, then "<tool>: <verb> SIZE to WHERE in T s (R MiB/s)" on a
  // terminal, with an explicit --progress, or once progress was shown.
  void summary(uint64_t bytes, const char* verb, const std::string& where);
  bool shown() const { return ever_shown_; }

 private:
  std::string text(uint64_t bytes, double elapsed) const;
  const char* tool_;
  const char* what_;
  ProgressStyle style_;
  bool explicit_;
  bool tty_;
  bool shown_ = false, ever_shown_ = false;
  uint64_t total_ = 0;
  double start_;
  double last_ = 0;
};

// BLCR's --kmsg-none / --kmsg-error / --kmsg-warning.
enum class Kmsg { None, Error, Warning };

// The engine prints its warnings on stderr as "<tool>: warning: TEXT". While a capture
// is active, the stdio stream stderr (not fd 2, which restored processes may inherit)
// keeps those lines instead, and passes everything else through (nothing with --quiet).
class WarningCapture {
 public:
  WarningCapture(const char* tool, bool quiet);
  ~WarningCapture();
  WarningCapture(const WarningCapture&) = delete;
  WarningCapture& operator=(const WarningCapture&) = delete;
  void stop();
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  static ssize_t write(void* cookie, const char* buf, size_t size);
  std::string prefix_;
  bool quiet_;
  FILE* saved_ = nullptr;
  std::string pending_;
  std::vector<std::string> lines_;
};

// Shows warnings (after the run, nothing with --quiet): with --kmsg-warning always as
// "- TEXT" lines; with --kmsg-error as "- TEXT" if the run failed, else as
// "<tool>: warning: TEXT"; with --kmsg-none never.
void print_warnings(const char* tool, const std::vector<std::string>& lines, Kmsg kmsg, bool failed, bool quiet);

// "OLD=NEW", with \= and \\ escapes.
Result<std::pair<std::string, std::string>> parse_relocation(const std::string& arg);

// Serving a libcr request (--libcr-handle-fd / --libcr-restart-handle-fd): one HandleMsg
// (src/libcr/protocol.h) of `type` with its log text on the request's handle; write errors
// are ignored (the requester may have closed its handle).
void send_handle(int fd, uint32_t type, int err, const std::string& log, int32_t leader = 0);
// The answer to a request whose server command line is invalid: accepted with EINVAL,
// then finished with EINVAL.
void refuse_request(int fd);

}  // namespace crest
