#include "checkpoint/page_runs.h"

#include <cstring>

#include "image/format.h"

namespace crest {

bool is_zero_page(const uint8_t* p, size_t page) {
  const uint64_t* w = reinterpret_cast<const uint64_t*>(p);
  uint64_t acc = 0;
  for (size_t i = 0; i < page / 8; i += 8) {
    acc |= w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7];
    if (acc) return false;
  }
  return true;
}

size_t pack_runs_keep_zeros(uint8_t* buf, uint64_t addr, uint64_t n, size_t page) {
  PageRunHeader h{addr, n};
  memcpy(buf, &h, sizeof h);
  return sizeof h + n * page;
}

// The output never overtakes the input: between two runs at least one zero page (more
// than a header) is dropped.
size_t pack_runs_skip_zeros(uint8_t* buf, uint64_t addr, uint64_t n, size_t page) {
  const uint8_t* in = buf + sizeof(PageRunHeader);
  size_t out = 0;
  for (uint64_t i = 0; i < n;) {
    if (is_zero_page(in + i * page, page)) {
      ++i;
      continue;
    }
    uint64_t j = i + 1;
    while (j < n && !is_zero_page(in + j * page, page)) ++j;
    PageRunHeader h{addr + i * page, j - i};
    memmove(buf + out + sizeof h, in + i * page, (j - i) * page);
    memcpy(buf + out, &h, sizeof h);
    out += sizeof h + (j - i) * page;
    i = j;
  }
  return out;
}

}  // namespace crest
