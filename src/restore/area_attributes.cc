// Memory area attributes set again once an area holds its pages (docs/design.md,
// "Memory area attributes"): madvise hints, then locks (mlock2 faults the pages in, so
// after they are written).
#include <sys/mman.h>
#include <sys/syscall.h>

#include "base/format.h"
#include "restore/restore_context.h"

namespace crest {

namespace {

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

struct AttrAdvice {
  uint32_t bit;
  int advice;
  const char* name;
};
constexpr AttrAdvice kAttrAdvice[] = {
    {kAttrHugePage, MADV_HUGEPAGE, "MADV_HUGEPAGE"},   {kAttrNoHugePage, MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE"},
    {kAttrMergeable, MADV_MERGEABLE, "MADV_MERGEABLE"}, {kAttrRandom, MADV_RANDOM, "MADV_RANDOM"},
    {kAttrSequential, MADV_SEQUENTIAL, "MADV_SEQUENTIAL"},
};

std::string area_name(const VmaRecord& v) {
  return format("area %llx-%llx (%s)", (unsigned long long)v.start, (unsigned long long)v.end,
                v.path.empty() ? "anonymous" : v.path.c_str());
}

}  // namespace

Result<void> restore_area_attributes(StubSession& s, const ProcessImage& image) {
  for (const VmaRecord& v : image.memory.vmas) {
    if (!v.attrs || v.kind == VmaKind::Vdso) continue;
    const uint64_t len = v.end - v.start;
    for (const AttrAdvice& a : kAttrAdvice)
      if (v.attrs & a.bit)
        CR_TRY(s.sys.call("madvise", SYS_madvise, {v.start, len, static_cast<uint64_t>(a.advice)}), "%s of %s", a.name,
               area_name(v).c_str());
    if (v.attrs & kAttrLocked) {
      uint64_t flags = (v.attrs & kAttrLockOnFault) ? MLOCK_ONFAULT : 0;
      CR_TRY(s.sys.call("mlock2", SYS_mlock2, {v.start, len, flags}), "locking %s (mlock%s; RLIMIT_MEMLOCK?)",
             area_name(v).c_str(), flags ? "2 MLOCK_ONFAULT" : "");
    }
  }
  return {};
}

}  // namespace crest
