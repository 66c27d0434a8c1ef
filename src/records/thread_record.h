// ThreadRecord: the CPU and per-thread kernel state of one thread.
#pragma once

#include <cstdint>
#include <vector>

#include "records/credentials_record.h"
#include "records/signals_record.h"

namespace crest {

struct ThreadRecord {
  int32_t tid = 0;
  std::vector<uint8_t> gp_regs;     // struct user_regs_struct
  std::vector<uint8_t> xsave;       // NT_X86_XSTATE area
  uint64_t sigmask = 0;
  std::vector<SiginfoRecord> pending;  // thread-private queue
  uint64_t rseq_ptr = 0;
  uint32_t rseq_len = 0, rseq_sig = 0;
  uint64_t robust_head = 0, robust_len = 0;
  uint64_t clear_child_tid = 0;
  uint64_t altstack_sp = 0, altstack_size = 0;
  uint32_t altstack_flags = 0;
  CredentialsRecord creds;          // this thread's ids, groups, capabilities, securebits

  template <class V> void fields(V& v) {
    v.field("tid", tid); v.field("gp_regs", gp_regs); v.field("xsave", xsave);
    v.field("sigmask", sigmask); v.field("pending", pending);
    v.field("rseq_ptr", rseq_ptr); v.field("rseq_len", rseq_len); v.field("rseq_sig", rseq_sig);
    v.field("robust_head", robust_head); v.field("robust_len", robust_len);
    v.field("clear_child_tid", clear_child_tid);
    v.field("altstack_sp", altstack_sp); v.field("altstack_size", altstack_size);
    v.field("altstack_flags", altstack_flags);
    v.field("creds", creds);
  }
};

}  // namespace crest
