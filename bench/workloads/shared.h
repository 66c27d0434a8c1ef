// Layout of the heartbeat page shared between a workload and the harness (bench/bench.py
// reads the same offsets). The workload maps the page MAP_SHARED from a file on tmpfs, so a
// checkpoint records it as a shared file mapping (no pages in the image) and the restored
// process maps the same file again: the harness sees the restored process's heartbeats.
#ifndef CREST_BENCH_SHARED_H
#define CREST_BENCH_SHARED_H

#include <stdint.h>

#define BENCH_MAGIC 0x48434e4542545352ull  // "RSTBENCH"
#define BENCH_MAX_PROCS 64

struct bench_slot {           // one per process of a tree workload
  uint64_t pid;               // getpid(), rewritten every loop iteration
  uint64_t ready;             // 1 once its memory is touched
  uint64_t verify_seq;        // incremented after each verification
  uint64_t verify_status;     // 1 OK, 2 BAD
};

struct bench_shared {
  uint64_t magic;             //   0
  uint64_t ready;             //   8: 1 once all memory is touched (the ready marker)
  uint64_t heartbeat_ns;      //  16: CLOCK_MONOTONIC of the latest loop iteration
  uint64_t max_gap_ns;        //  24: largest gap between two iterations since reset to 0
  uint64_t max_gap_end_ns;    //  32: CLOCK_MONOTONIC at the end of that gap
  uint64_t verify_seq;        //  40: incremented after each verification (SIGUSR1)
  uint64_t verify_status;     //  48: 1 OK, 2 BAD
  uint64_t pid;               //  56: getpid() of the main process, every iteration
  uint64_t sum_expected;      //  64: checksum computed after touching
  uint64_t sum_found;         //  72: checksum found by the latest verification
  uint64_t nprocs;            //  80: processes in the workload (1 unless tree)
  uint64_t reserved[5];       //  88..127
  struct bench_slot slot[BENCH_MAX_PROCS];  // 128
};

#endif
