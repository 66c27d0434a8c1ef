// AttributesRecord: the payload of an Attributes section (type 20, owner = pid): one
// entry per process attribute unit that had something to save, each holding that unit's
// own record (src/attrs/<unit>.h) encoded by its fields().
#pragma once

#include <cstdint>
#include <vector>

namespace crest {

struct AttributeRecord {
  uint32_t unit = 0;            // the unit's stable id (AttributeUnit ids, docs/image-format.md)
  std::vector<uint8_t> record;  // the unit's record
  template <class V> void fields(V& v) { v.field("unit", unit); v.field("record", record); }
};

struct AttributesRecord {
  std::vector<AttributeRecord> attributes;
  template <class V> void fields(V& v) { v.field("attributes", attributes); }
};

}  // namespace crest
