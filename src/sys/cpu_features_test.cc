#include "sys/cpu_features.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "base/fd.h"
#include "sys/elf_build_id.h"

namespace crest {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(CpuFeatures, ThisCpuLacksNothingOfItsOwn) {
  CpuFeaturesRecord here = this_cpu_features();
  EXPECT_FALSE(here.cpuid.empty());
  EXPECT_NE(here.xcr0 & 3, 0u) << "x87 and SSE state are always enabled on x86-64";
  EXPECT_TRUE(missing_cpu_features(here, here).empty());
}

TEST(CpuFeatures, NamesWhatIsMissing) {
  CpuFeaturesRecord image, here;
  image.xcr0 = 0x7 | (1u << 5);
  here.xcr0 = 0x7;
  image.cpuid = {{7, 0, 0, (1u << 16) | (1u << 5) | (1u << 10), 0, 0}};
  here.cpuid = {{7, 0, 0, 1u << 5, 0, 0}};
  auto missing = missing_cpu_features(image, here);
  EXPECT_TRUE(has(missing, "avx512f"));
  EXPECT_TRUE(has(missing, "cpuid 0x7.0 ebx bit 10"));  // a bit without a name
  EXPECT_TRUE(has(missing, "xsave component 5 (opmask)"));
  EXPECT_FALSE(has(missing, "avx2"));  // present on both
  EXPECT_EQ(missing.size(), 3u);
}

TEST(CpuFeatures, MachineBitsAndNonFeatureRegistersAreNotCompared) {
  CpuFeaturesRecord image, here;
  // Leaf 1: family/model in eax and the APIC id in ebx differ between CPUs of one kind;
  // the hypervisor bit between a VM and its host.
  image.cpuid = {{1, 0, 0x906ea, 0x01020800, 1u << 31, 1u << 28}};
  here.cpuid = {{1, 0, 0x806ec, 0x00000800, 0, 0}};
  EXPECT_TRUE(missing_cpu_features(image, here).empty());
}

TEST(CpuFeatures, ALeafThisCpuDoesNotHaveCountsAsZeros) {
  CpuFeaturesRecord image, here;
  image.cpuid = {{7, 1, 1u << 4, 0, 0, 0}};
  EXPECT_TRUE(has(missing_cpu_features(image, here), "avx_vnni"));
}

TEST(ElfBuildId, OwnExecutableHasOne) {
  Fd fd(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  auto id = elf_build_id(fd.get());
  ASSERT_TRUE(id) << id.error().message();
  EXPECT_GE(id->size(), 16u) << "Debian's toolchain links with --build-id";
}

TEST(ElfBuildId, NotAnElfFileOrCutShortHasNone) {
  char path[] = "/tmp/crest-buildid-XXXXXX";
  Fd fd(mkstemp(path));
  ASSERT_TRUE(fd.valid());
  unlink(path);
  ASSERT_EQ(write(fd.get(), "hello\n", 6), 6);
  auto id = elf_build_id(fd.get());
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->empty());
  // The first 200 bytes of a real ELF file: header and part of the program headers.
  Fd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  char head[200];
  ASSERT_EQ(pread(self.get(), head, sizeof head, 0), (ssize_t)sizeof head);
  ASSERT_EQ(ftruncate(fd.get(), 0), 0);
  ASSERT_EQ(pwrite(fd.get(), head, sizeof head, 0), (ssize_t)sizeof head);
  id = elf_build_id(fd.get());
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->empty());
}

}  // namespace
}  // namespace crest
