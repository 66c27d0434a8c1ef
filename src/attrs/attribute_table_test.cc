#include "attrs/attribute_table.h"

#include <gtest/gtest.h>

#include "image/codec.h"

namespace crest {
namespace {

// An image written while keepcaps was its own unit (id 9) still restores: the unit is
// retired and its record ignored, as the bit comes back with the credentials.
TEST(AttributeTable, RetiredKeepcapsUnitStillRestores) {
  ThreadValues<uint8_t> keepcaps;
  keepcaps.threads.push_back({4242, 1});
  AttributesRecord saved;
  saved.attributes.push_back({9, encode_record(keepcaps)});
  RestoreTarget target{4242, 4242, {}, 0};  // no thread to apply it to: it must not be applied
  auto restored = restore_attributes(target, saved);
  EXPECT_TRUE(restored) << restored.error().message();
  std::string out;
  ASSERT_TRUE(print_attributes(saved, out));
  EXPECT_NE(out.find("keepcaps: (retired unit 9"), std::string::npos) << out;
}

TEST(AttributeTable, UnknownUnitIsRefused) {
  AttributesRecord saved;
  saved.attributes.push_back({99, {}});
  RestoreTarget target{1, 1, {}, 0};
  EXPECT_FALSE(restore_attributes(target, saved));
  std::string out;
  EXPECT_FALSE(print_attributes(saved, out));
}

}  // namespace
}  // namespace crest
