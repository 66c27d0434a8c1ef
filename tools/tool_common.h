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

// BLCR's contract: the errno value, truncated to 8 bits; never 0 for a failure.
int exit_code_for(const Error& e);

// Prints "\r<tool>: <what> N MiB" on stderr when it is a terminal and the job has taken
// over a second; finish() ends the line.
class ProgressLine {
 public:
  explicit ProgressLine(const char* tool, const char* what);
  void update(uint64_t bytes);
  void finish();

 private:
  const char* tool_;
  const char* what_;
  bool tty_;
  bool shown_ = false;
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
