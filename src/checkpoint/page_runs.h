// Packing pages read from a process into MemoryPages payloads: runs of
// {PageRunHeader, pages}, with pages that hold only zeros left out where a fresh page
// is zero anyway.
#pragma once

#include <cstddef>
#include <cstdint>

namespace crest {

bool is_zero_page(const uint8_t* p, size_t page);
// buf holds n pages at offset sizeof(PageRunHeader): writes the header for one run of
// all of them; returns the payload size.
size_t pack_runs_keep_zeros(uint8_t* buf, uint64_t addr, uint64_t n, size_t page);
// The same pages rewritten in place as the runs of non-zero pages; returns the payload
// size (0 if every page is zero).
size_t pack_runs_skip_zeros(uint8_t* buf, uint64_t addr, uint64_t n, size_t page);

}  // namespace crest
