// Every record type an image holds, by the section type that carries it: the list both
// fuzzers walk. A new record type gets its line here.
#pragma once

#include <cstdint>

#include "attrs/attribute_table.h"
#include "attrs/attributes_record.h"
#include "fds/fd_kind.h"
#include "image/codec.h"
#include "image/format.h"
#include "records/fd_record.h"
#include "records/memory_record.h"
#include "records/process_record.h"
#include "records/process_tree_record.h"
#include "records/signals_record.h"
#include "records/sysv_ipc_record.h"
#include "records/thread_record.h"

namespace crest::fuzz {

// Calls f.template operator()<Record>(type) for each record-carrying section type.
template <class F>
void for_each_record_type(F&& f) {
  f.template operator()<ProcessTreeRecord>(SectionType::ProcessTree);
  f.template operator()<ProcessRecord>(SectionType::Process);
  f.template operator()<ThreadRecord>(SectionType::Thread);
  f.template operator()<SignalsRecord>(SectionType::Signals);
  f.template operator()<FdTableRecord>(SectionType::FdTable);
  f.template operator()<MemoryMapRecord>(SectionType::MemoryMap);
  f.template operator()<SysvIpcRecord>(SectionType::SysvIpc);
  f.template operator()<AttributesRecord>(SectionType::Attributes);
}

// The records nested in a decoded record as bytes (each fd's kind payload, each process
// attribute unit's record), decoded and printed as cr_info does.
inline void decode_nested(const FdTableRecord& t) {
  std::string out;
  for (const FdRecord& rec : t.fds)
    if (const FdKindOps* ops = fd_kind_ops(rec.kind); ops && ops->print) (void)ops->print(rec, out, 0);
}
inline void decode_nested(const AttributesRecord& a) {
  std::string out;
  (void)print_attributes(a, out);
}
template <class R>
void decode_nested(const R&) {}

// Decodes `payload` as the record of section type `type` (if it carries one). A record
// that decodes must encode back to the same bytes: the encoder and decoder walk one
// field list, so anything else is a bug (abort, for the fuzzer to report).
inline void decode_checked(SectionType type, const std::vector<uint8_t>& payload) {
  for_each_record_type([&]<class R>(SectionType t) {
    if (t != type) return;
    auto r = decode_record<R>(payload, "fuzzed");
    if (!r) return;
    if (encode_record(*r) != payload) __builtin_trap();
    decode_nested(*r);
  });
}

}  // namespace crest::fuzz
