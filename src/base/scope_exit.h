// ScopeExit: runs a callable on scope exit unless cancel()ed (cf. absl::Cleanup).
#pragma once

#include <utility>

namespace crest {

template <typename F>
class ScopeExit {
 public:
  explicit ScopeExit(F f) : f_(std::move(f)) {}
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ~ScopeExit() {
    if (armed_) f_();
  }
  void cancel() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

}  // namespace crest
