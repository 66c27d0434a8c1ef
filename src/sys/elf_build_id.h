// The GNU build-id note of an ELF file: what identifies a build of a library or program
// across copies, touches and machines.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.h"

namespace crest {

// The NT_GNU_BUILD_ID note of the 64-bit ELF file open at `fd`, found through its
// program headers (PT_NOTE); empty if the file is not such an ELF file or has no note.
// Fails only when the file cannot be read.
Result<std::vector<uint8_t>> elf_build_id(int fd);

}  // namespace crest
