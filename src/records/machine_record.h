// What a restart depends on outside the image: the CPU features user code may have
// chosen its code paths by, and the identity of every file mapped by reference.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crest {

// One CPUID leaf/subleaf as this CPU answered it.
struct CpuidRecord {
  uint32_t leaf = 0, subleaf = 0;
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
  template <class V> void fields(V& v) {
    v.field("leaf", leaf); v.field("subleaf", subleaf);
    v.field("eax", eax); v.field("ebx", ebx); v.field("ecx", ecx); v.field("edx", edx);
  }
};

// The checkpointing CPU: XCR0 (the XSAVE state components the kernel enabled, which
// fixes the XSAVE area the registers were saved in) and the feature leaves.
struct CpuFeaturesRecord {
  uint64_t xcr0 = 0;
  std::vector<CpuidRecord> cpuid;
  template <class V> void fields(V& v) { v.field("xcr0", xcr0); v.field("cpuid", cpuid); }
};

// A file mapped privately by reference (its unchanged pages come from the file at
// restart): who it was, to refuse a file changed since (docs/design.md, "Trust").
struct MappedFileRecord {
  std::string path;
  uint64_t dev = 0, ino = 0;   // as /proc/PID/maps showed the mapped inode
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::vector<uint8_t> build_id;  // the ELF NT_GNU_BUILD_ID note; empty if none
  template <class V> void fields(V& v) {
    v.field("path", path); v.field("dev", dev); v.field("ino", ino); v.field("size", size);
    v.field("mtime_ns", mtime_ns); v.field("build_id", build_id);
  }
};

}  // namespace crest
