// libFuzzer target: an input is a section type (u32, little-endian) and a payload,
// decoded as that section's record with no image around it, so the fuzzer reaches the
// decoders without first having to forge checksums. A record that decodes must encode
// back to the same bytes.
#include <cstring>

#include "fuzz/record_types.h"

using namespace crest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  uint32_t type;
  memcpy(&type, data, 4);
  std::vector<uint8_t> payload(data + 4, data + size);
  fuzz::decode_checked(static_cast<SectionType>(type), payload);
  return 0;
}
