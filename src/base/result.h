// Error values with context, and Result<T> (the std::expected subset we use).
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/format.h"

namespace crest {

enum class ErrorKind : uint8_t {
  Os,                 // a syscall in our process failed; errno is meaningful
  RemoteOs,           // a syscall injected into a tracee failed; errno is the tracee's
  TraceeGone,         // the target exited or was killed while we worked on it
  Unsupported,        // valid state we do not handle
  CorruptImage,       // checksum, bounds or decode failure
  IncompatibleImage,  // format version, architecture or page size mismatch
  InvalidArgument,
  TimedOut,
};

class Error {
 public:
  Error(ErrorKind kind, int err, std::string what) : kind_(kind), errno_(err), what_(std::move(what)) {}

  static Error os(std::string op, int err = errno) { return Error(ErrorKind::Os, err, std::move(op)); }
  static Error remote(std::string op, int err) { return Error(ErrorKind::RemoteOs, err, std::move(op)); }
  static Error gone(std::string what) { return Error(ErrorKind::TraceeGone, ESRCH, std::move(what)); }
  static Error unsupported(std::string what) { return Error(ErrorKind::Unsupported, ENOTSUP, std::move(what)); }
  static Error corrupt(std::string what) { return Error(ErrorKind::CorruptImage, EINVAL, std::move(what)); }
  static Error incompatible(std::string what) { return Error(ErrorKind::IncompatibleImage, 55, std::move(what)); }
  static Error invalid(std::string what) { return Error(ErrorKind::InvalidArgument, EINVAL, std::move(what)); }
  static Error timed_out(std::string what) { return Error(ErrorKind::TimedOut, ETIMEDOUT, std::move(what)); }

  ErrorKind kind() const { return kind_; }
  int error_number() const { return errno_; }

  // Adds an outer frame ("checkpoint of pid 4121").
  Error& context(std::string frame) {
    frames_.push_back(std::move(frame));
    return *this;
  }

  // "outer: inner: operation: strerror [ENAME]"
  std::string message() const;

 private:
  ErrorKind kind_;
  int errno_;
  std::string what_;
  std::vector<std::string> frames_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}
  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  Error& error() { return std::get<1>(v_); }
  const Error& error() const { return std::get<1>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}
  bool has_value() const { return !e_.has_value(); }
  explicit operator bool() const { return has_value(); }
  void value() const {}
  Error& error() { return *e_; }
  const Error& error() const { return *e_; }

 private:
  std::optional<Error> e_;
};

}  // namespace crest

// CR_TRY(expr) / CR_TRY(expr, fmt, args...): on error add the formatted frame and return
// it; otherwise evaluate to the value. Format arguments are evaluated only on failure.
#define CR_TRY(expr, ...)                                                   \
  ({                                                                        \
    auto&& cr_try_result_ = (expr);                                         \
    if (!cr_try_result_.has_value()) {                                      \
      auto cr_try_error_ = std::move(cr_try_result_.error());               \
      __VA_OPT__(cr_try_error_.context(::crest::format(__VA_ARGS__));)      \
      return cr_try_error_;                                                 \
    }                                                                       \
    std::move(cr_try_result_).value();                                      \
  })
