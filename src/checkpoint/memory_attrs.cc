// Memory area attributes (docs/design.md, "Memory area attributes").
#include "checkpoint/memory_attrs.h"

#include <fcntl.h>

#include <map>
#include <optional>

#include "base/fd.h"
#include "base/format.h"
#include "sys/pagemap_scan.h"

namespace crest {

namespace {

struct AttrCode {
  const char* code;
  uint32_t bit;
};
constexpr AttrCode kAttrCodes[] = {
    {"lo", kAttrLocked}, {"lf", kAttrLockOnFault}, {"hg", kAttrHugePage}, {"nh", kAttrNoHugePage},
    {"mg", kAttrMergeable}, {"rr", kAttrRandom}, {"sr", kAttrSequential},
};

// The first guard region of the areas of `pid`, or none. A kernel whose PAGEMAP_SCAN does
// not know the category (EINVAL) cannot install guard pages either.
Result<std::optional<PageRegion>> first_guard_region(pid_t pid, const MemoryMapRecord& map) {
  if (map.vmas.empty()) return std::optional<PageRegion>{};
  Fd pagemap(::open(format("/proc/%d/pagemap", pid).c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) return Error::os(format("open /proc/%d/pagemap", pid));
  PageRegion region{};
  PmScanArg arg{};
  arg.size = sizeof arg;
  arg.start = map.vmas.front().start;
  arg.end = map.vmas.back().end;
  arg.vec = reinterpret_cast<uint64_t>(&region);
  arg.vec_len = 1;
  arg.category_mask = kPageIsGuard;
  arg.return_mask = kPageIsGuard;
  int n = ioctl(pagemap.get(), kPagemapScan, &arg);
  if (n < 0 && errno == EINVAL) return std::optional<PageRegion>{};
  if (n < 0) return Error::os(format("ioctl(PAGEMAP_SCAN) for guard pages of process %d", pid));
  if (n == 0) return std::optional<PageRegion>{};
  return std::optional<PageRegion>{region};
}

}  // namespace

Result<void> collect_memory_attributes(pid_t pid, const std::vector<MapsEntry>& smaps, MemoryMapRecord& map) {
  std::map<uint64_t, const MapsEntry*> by_start;
  for (const MapsEntry& m : smaps) by_start[m.start] = &m;
  for (VmaRecord& v : map.vmas) {
    auto it = by_start.find(v.start);
    if (it == by_start.end()) continue;
    for (const AttrCode& c : kAttrCodes)
      if (it->second->has_flag(c.code)) v.attrs |= c.bit;
  }
  auto guard = CR_TRY(first_guard_region(pid, map));
  if (!guard) return {};
  std::string area = "?";
  for (const VmaRecord& v : map.vmas)
    if (v.start <= guard->start && guard->start < v.end)
      area = format("%llx-%llx (%s)", (unsigned long long)v.start, (unsigned long long)v.end, v.path.empty() ? "anonymous" : v.path.c_str());
  // Not left out under --skip-unsupported either: the pages of the area cannot be read.
  return Error::unsupported(format("process %d: area %s has guard pages (MADV_GUARD_INSTALL) at %llx-%llx: not restored by crest",
                                   pid, area.c_str(), (unsigned long long)guard->start, (unsigned long long)guard->end));
}

}  // namespace crest
