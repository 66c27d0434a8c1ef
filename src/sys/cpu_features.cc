// CPUID and XCR0 of this CPU, and which of an image's features it lacks.
#include "sys/cpu_features.h"

#include <cpuid.h>

#include <cstdint>

#include "base/format.h"

namespace crest {

namespace {

enum Reg { kEax, kEbx, kEcx, kEdx };

// The leaves saved, and which of their registers hold feature flags (the others hold
// the family and model, the APIC id, or the highest subleaf: not compared).
struct Leaf {
  uint32_t leaf, subleaf;
  bool compared[4];  // eax, ebx, ecx, edx
};
constexpr Leaf kLeaves[] = {{1, 0, {false, false, true, true}},
                            {7, 0, {false, true, true, true}},
                            {7, 1, {true, false, false, true}},
                            {0xD, 1, {true, false, false, false}},
                            {0x80000001, 0, {false, false, true, true}}};

// Named feature bits (the names of Linux's /proc/cpuinfo flags).
struct Bit {
  uint32_t leaf, subleaf;
  Reg reg;
  int bit;
  const char* name;
};
constexpr Bit kNamed[] = {
    {1, 0, kEdx, 0, "fpu"},        {1, 0, kEdx, 15, "cmov"},       {1, 0, kEdx, 23, "mmx"},
    {1, 0, kEdx, 24, "fxsr"},      {1, 0, kEdx, 25, "sse"},        {1, 0, kEdx, 26, "sse2"},
    {1, 0, kEcx, 0, "sse3"},       {1, 0, kEcx, 1, "pclmulqdq"},   {1, 0, kEcx, 9, "ssse3"},
    {1, 0, kEcx, 12, "fma"},       {1, 0, kEcx, 13, "cx16"},       {1, 0, kEcx, 19, "sse4_1"},
    {1, 0, kEcx, 20, "sse4_2"},    {1, 0, kEcx, 22, "movbe"},      {1, 0, kEcx, 23, "popcnt"},
    {1, 0, kEcx, 25, "aes"},       {1, 0, kEcx, 26, "xsave"},      {1, 0, kEcx, 28, "avx"},
    {1, 0, kEcx, 29, "f16c"},      {1, 0, kEcx, 30, "rdrand"},     {7, 0, kEbx, 0, "fsgsbase"},
    {7, 0, kEbx, 3, "bmi1"},       {7, 0, kEbx, 4, "hle"},         {7, 0, kEbx, 5, "avx2"},
    {7, 0, kEbx, 8, "bmi2"},       {7, 0, kEbx, 9, "erms"},        {7, 0, kEbx, 11, "rtm"},
    {7, 0, kEbx, 16, "avx512f"},   {7, 0, kEbx, 17, "avx512dq"},   {7, 0, kEbx, 18, "rdseed"},
    {7, 0, kEbx, 19, "adx"},       {7, 0, kEbx, 21, "avx512ifma"}, {7, 0, kEbx, 23, "clflushopt"},
    {7, 0, kEbx, 24, "clwb"},      {7, 0, kEbx, 28, "avx512cd"},   {7, 0, kEbx, 29, "sha_ni"},
    {7, 0, kEbx, 30, "avx512bw"},  {7, 0, kEbx, 31, "avx512vl"},   {7, 0, kEcx, 1, "avx512vbmi"},
    {7, 0, kEcx, 5, "waitpkg"},    {7, 0, kEcx, 6, "avx512_vbmi2"}, {7, 0, kEcx, 8, "gfni"},
    {7, 0, kEcx, 9, "vaes"},       {7, 0, kEcx, 10, "vpclmulqdq"}, {7, 0, kEcx, 11, "avx512_vnni"},
    {7, 0, kEcx, 12, "avx512_bitalg"}, {7, 0, kEcx, 14, "avx512_vpopcntdq"}, {7, 0, kEcx, 22, "rdpid"},
    {7, 0, kEdx, 4, "fsrm"},       {7, 0, kEdx, 8, "avx512_vp2intersect"}, {7, 0, kEdx, 14, "serialize"},
    {7, 0, kEdx, 22, "amx_bf16"},  {7, 0, kEdx, 23, "avx512_fp16"}, {7, 0, kEdx, 24, "amx_tile"},
    {7, 0, kEdx, 25, "amx_int8"},  {7, 1, kEax, 4, "avx_vnni"},    {7, 1, kEax, 5, "avx512_bf16"},
    {0xD, 1, kEax, 0, "xsaveopt"}, {0xD, 1, kEax, 1, "xsavec"},    {0xD, 1, kEax, 3, "xsaves"},
    {0x80000001, 0, kEcx, 0, "lahf_lm"}, {0x80000001, 0, kEcx, 5, "abm"}, {0x80000001, 0, kEcx, 6, "sse4a"},
    {0x80000001, 0, kEcx, 11, "xop"}, {0x80000001, 0, kEcx, 16, "fma4"}, {0x80000001, 0, kEcx, 21, "tbm"},
    {0x80000001, 0, kEdx, 27, "rdtscp"}, {0x80000001, 0, kEdx, 29, "lm"},
};

// Bits that say what the machine is, not what code may use: compared, they would refuse
// a move between equal CPUs with other topologies or between a VM and its host.
struct Ignored {
  uint32_t leaf, subleaf;
  Reg reg;
  uint32_t mask;
};
constexpr Ignored kIgnored[] = {
    {1, 0, kEcx, 1u << 31},   // hypervisor
    {1, 0, kEcx, 1u << 27},   // osxsave: implied by XCR0, compared below
    {1, 0, kEcx, 1u << 3},    // monitor: kernel-only
    {1, 0, kEdx, 1u << 28},   // htt: topology
    {1, 0, kEdx, 1u << 9},    // apic
    {7, 0, kEdx, 1u << 15},   // hybrid
    {7, 0, kEdx, 0xfc000000}, // speculation-control bits (ibrs, stibp, l1d_flush, ...)
};

constexpr const char* kXsaveComponents[] = {"x87",    "sse",      "avx",       "bndregs", "bndcsr",  "opmask",
                                            "zmm_hi256", "hi16_zmm", "pt",       "pkru",    "pasid",  "cet_u",
                                            "cet_s",  "hdc",      "uintr",     "lbr",     "hwp",     "amx_tilecfg",
                                            "amx_tiledata"};

uint32_t reg_of(const CpuidRecord& r, Reg reg) {
  switch (reg) {
    case kEax: return r.eax;
    case kEbx: return r.ebx;
    case kEcx: return r.ecx;
    case kEdx: return r.edx;
  }
  return 0;
}

const char* reg_name(Reg reg) {
  static constexpr const char* kNames[] = {"eax", "ebx", "ecx", "edx"};
  return kNames[reg];
}

uint32_t ignored_mask(uint32_t leaf, uint32_t subleaf, Reg reg) {
  uint32_t m = 0;
  for (const Ignored& i : kIgnored)
    if (i.leaf == leaf && i.subleaf == subleaf && i.reg == reg) m |= i.mask;
  return m;
}

const char* bit_name(uint32_t leaf, uint32_t subleaf, Reg reg, int bit) {
  for (const Bit& b : kNamed)
    if (b.leaf == leaf && b.subleaf == subleaf && b.reg == reg && b.bit == bit) return b.name;
  return nullptr;
}

bool compared(uint32_t leaf, uint32_t subleaf, Reg reg) {
  for (const Leaf& l : kLeaves)
    if (l.leaf == leaf && l.subleaf == subleaf) return l.compared[reg];
  return false;  // a leaf a later crest saves and this one does not know
}

const CpuidRecord* find_leaf(const CpuFeaturesRecord& f, uint32_t leaf, uint32_t subleaf) {
  for (const CpuidRecord& r : f.cpuid)
    if (r.leaf == leaf && r.subleaf == subleaf) return &r;
  return nullptr;
}

}  // namespace

CpuFeaturesRecord this_cpu_features() {
  CpuFeaturesRecord f;
  const uint32_t max_basic = __get_cpuid_max(0, nullptr);
  const uint32_t max_ext = __get_cpuid_max(0x80000000, nullptr);
  for (const Leaf& l : kLeaves) {
    if (l.leaf < 0x80000000 ? l.leaf > max_basic : l.leaf > max_ext) continue;
    CpuidRecord r{l.leaf, l.subleaf};
    __cpuid_count(l.leaf, l.subleaf, r.eax, r.ebx, r.ecx, r.edx);
    f.cpuid.push_back(r);
  }
  const CpuidRecord* one = find_leaf(f, 1, 0);
  if (one && (one->ecx & (1u << 27))) {  // OSXSAVE: xgetbv is usable
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    f.xcr0 = (static_cast<uint64_t>(hi) << 32) | lo;
  }
  return f;
}

std::vector<std::string> missing_cpu_features(const CpuFeaturesRecord& image, const CpuFeaturesRecord& here) {
  std::vector<std::string> missing;
  for (int bit = 0; bit < 64; ++bit) {
    if (!(image.xcr0 >> bit & 1) || (here.xcr0 >> bit & 1)) continue;
    const char* name = bit < static_cast<int>(std::size(kXsaveComponents)) ? kXsaveComponents[bit] : "?";
    missing.push_back(format("xsave component %d (%s)", bit, name));
  }
  for (const CpuidRecord& img : image.cpuid) {
    const CpuidRecord* now = find_leaf(here, img.leaf, img.subleaf);
    for (Reg reg : {kEax, kEbx, kEcx, kEdx}) {
      if (!compared(img.leaf, img.subleaf, reg)) continue;
      // A leaf this CPU does not have at all counts as all zeros.
      uint32_t lost = reg_of(img, reg) & ~(now ? reg_of(*now, reg) : 0) & ~ignored_mask(img.leaf, img.subleaf, reg);
      for (int bit = 0; bit < 32; ++bit) {
        if (!(lost >> bit & 1)) continue;
        if (const char* name = bit_name(img.leaf, img.subleaf, reg, bit)) missing.push_back(name);
        else missing.push_back(format("cpuid 0x%x.%u %s bit %d", img.leaf, img.subleaf, reg_name(reg), bit));
      }
    }
  }
  return missing;
}

}  // namespace crest
