// printf-style formatting into std::string (GCC 12 has no std::format).
#pragma once

#include <string>

namespace crest {

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace crest
