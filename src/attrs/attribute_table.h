// The table of process attribute units (attribute.h), walked by the checkpoint (per
// thread, while syscalls can be injected) and by the restart (per process, before it
// runs). docs/design.md "Process attributes" lists the units.
#pragma once

#include <any>
#include <map>

#include "attrs/attribute.h"
#include "attrs/attributes_record.h"

namespace crest {

// One process's attributes as they are read, thread by thread.
class AttributesDump {
 public:
  // Every unit reads what it keeps of this thread (and, for the leader, of the process).
  Result<void> read_thread(const ThreadProbe& probe);
  AttributesRecord record() const;

 private:
  std::map<uint32_t, std::any> records_;  // unit id -> its Record
};

// Every unit with an entry in `saved` puts its attribute back, in the table's order
// (no_new_privs last: it constrains later execs). An entry of a unit this crest does not
// know fails the restart, naming it.
Result<void> restore_attributes(const RestoreTarget& target, const AttributesRecord& saved);

// Each unit's record decoded and printed by its field names (cr_info, the fuzzers); a
// unit this crest does not know, or a record that does not decode, is an error.
Result<void> print_attributes(const AttributesRecord& saved, std::string& out, int indent = 0);

}  // namespace crest
