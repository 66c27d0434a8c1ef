// Every record type an image holds, by the section type that carries it: the list both
// fuzzers walk. A new record type gets its line here.
#pragma once

#include <cstdint>

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
}

// Decodes `payload` as the record of section type `type` (if it carries one). A record
// that decodes must encode back to the same bytes: the encoder and decoder walk one
// field list, so anything else is a bug (abort, for the fuzzer to report).
inline void decode_checked(SectionType type, const std::vector<uint8_t>& payload) {
  for_each_record_type([&]<class R>(SectionType t) {
    if (t != type) return;
    auto r = decode_record<R>(payload, "fuzzed");
    if (r && encode_record(*r) != payload) __builtin_trap();
  });
}

}  // namespace crest::fuzz
