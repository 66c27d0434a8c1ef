// cr_info: names for the numbers an image holds (architecture, signals, limits, kinds).
#pragma once

#include <cstdint>
#include <string>

#include "records/fd_record.h"
#include "records/memory_record.h"
#include "tool_common.h"  // byte_size

namespace crest {

std::string arch_name(uint32_t elf_machine);  // "x86_64", or "ELF machine N"
std::string signal_name(int sig);             // "SIGINT", "SIGRTMIN+3"
std::string rlimit_name(size_t resource);     // "NOFILE" (RLIMIT_ without its prefix)
std::string fd_kind_label(FdKind kind);        // "regular", "unix-socket", ...
std::string vma_kind_name(VmaKind kind);      // "anonymous", "file-private", ...
// "unlimited" for RLIM_INFINITY; a size for the limits in bytes ("8.0 MiB").
std::string limit_value(size_t resource, uint64_t value);

}  // namespace crest
