// This CPU's user-visible features (CPUID, XCR0) and the comparison a restart makes
// against the checkpointing CPU's.
#pragma once

#include <string>
#include <vector>

#include "records/machine_record.h"

namespace crest {

// The CPUID leaves user code picks code paths by (1, 7.0, 7.1, 0xD.1, 0x80000001) and
// XCR0, as this CPU reports them.
CpuFeaturesRecord this_cpu_features();

// The features the image's CPU had that `here` lacks, by name ("avx512f", "xsave
// component 5 (opmask)", or "cpuid 7.0 ebx bit 12" for a bit without a name). Bits that
// describe the machine rather than what code may use (hypervisor, HTT, hybrid) are not
// compared.
std::vector<std::string> missing_cpu_features(const CpuFeaturesRecord& image, const CpuFeaturesRecord& here);

}  // namespace crest
