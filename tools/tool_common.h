// What the three tools share: BLCR's exit codes, progress lines, --relocate parsing.
#pragma once

#include <cstdint>
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

// "OLD=NEW", with \= and \\ escapes.
Result<std::pair<std::string, std::string>> parse_relocation(const std::string& arg);

}  // namespace crest
