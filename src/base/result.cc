#include "base/result.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace crest {

std::string format(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < sizeof small) return std::string(small, n);
  std::string out(n, '\0');
  va_start(ap, fmt);
  vsnprintf(out.data(), n + 1, fmt, ap);
  va_end(ap);
  return out;
}

std::string Error::message() const {
  std::string out;
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) out += *it + ": ";
  out += what_;
  if ((kind_ == ErrorKind::Os || kind_ == ErrorKind::RemoteOs || kind_ == ErrorKind::TraceeGone) && errno_ != 0) {
    out += format(": %s", strerror(errno_));
    if (const char* name = strerrorname_np(errno_)) out += format(" [%s]", name);
  }
  return out;
}

}  // namespace crest
