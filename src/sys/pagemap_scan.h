// ioctl(PAGEMAP_SCAN) on /proc/PID/pagemap (Linux 6.7; the guard category 6.14): Debian
// 12's headers predate it.
#pragma once

#include <sys/ioctl.h>

#include <cstdint>

namespace crest {

struct PageRegion {
  uint64_t start, end, categories;
};
struct PmScanArg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);
constexpr uint64_t kPageIsFile = 1 << 2, kPageIsPresent = 1 << 3, kPageIsSwapped = 1 << 4, kPageIsPfnZero = 1 << 5,
                   kPageIsGuard = 1 << 8;

}  // namespace crest
