// Checkpointer: one checkpoint from start to finish: freeze, read every resource, write
// the image, then apply the after-checkpoint action and thaw.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"
#include "checkpoint/frozen_tree.h"
#include "image/compression.h"

namespace crest {

enum class AfterCheckpoint { Run, Signal, Kill };

struct CheckpointOptions {
  pid_t pid = 0;
  Scope scope = Scope::Tree;  // BLCR's default: the process and its descendants
  TracePolicy trace_policy;
  // Leave out (with a warning) descriptors crest cannot restore instead of failing.
  bool skip_unsupported = false;
  // Save established TCP connections whose peer is outside the checkpoint (CRIU's
  // --tcp-established; fds/tcp_repair.h): without it they are refused by name.
  bool tcp_established = false;
  Compression compression;  // of memory pages (--compress)
  int out_fd = -1;
  AfterCheckpoint after = AfterCheckpoint::Run;
  int after_signal = 0;  // for Signal: SIGSTOP, SIGTERM, SIGCONT, ...
  // Called now and then with the bytes written so far (progress display).
  std::function<void(uint64_t)> progress;
  // Called once before the pages are written with an estimate of the bytes `progress`
  // will reach (for a percentage).
  std::function<void(uint64_t)> progress_total;
  // Polled between steps; true makes the checkpoint give up (the -t limit).
  std::function<bool()> cancelled;

  // --- libcr cooperation (docs/libcr.md) ---
  // Who asked, as libcr's cr_get_checkpoint_info() reports it: the requesting process
  // (cr_checkpoint run by hand: cr_checkpoint itself) and, when a libcr request is being
  // served, the thread to signal first if the requester is in the scope.
  pid_t requester = 0;
  pid_t requester_tid = 0;
  // cr_checkpoint's own waiting parent, when the process that ran it is in the scope
  // (BLCR's structure, tools/cr_checkpoint.cc): checkpointed with that process, blocked
  // in wait4(); for the scope's safety it is cr_checkpoint itself. 0: none.
  pid_t waiter = 0;
  int request_target = 0;  // as requested (0 = the requester itself)
  std::string dest;        // cr_checkpoint_info.dest
  // Sent right after the image is written, before callbacks' continue code (BLCR's
  // negative cr_signal, --early-stop / --early-abrt). 0: none.
  int early_signal = 0;
  // CR_CHKPT_REQUIRE_LIBCR: fail with CR_ENOSUPPORT if a process of the scope lacks libcr.
  bool require_libcr = false;
  // CR_CHKPT_PROHIBIT_SELF: EDEADLK if the requester's process is in the scope.
  bool prohibit_self = false;
  // --save-exe / --save-private / --save-shared: file mappings saved by content.
  bool save_exe = false, save_private = false, save_shared = false;
  // --allow-init: the init of cr_checkpoint's own pid namespace may be in the scope
  // (scope_safety.h refuses it otherwise).
  bool allow_init = false;
  // Called once the request is checked and the cooperating processes are signalled
  // (cr_request_checkpoint() returns then); errors before it are request-time errors.
  std::function<void()> accepted;
  // Warnings and errors for cr_log_checkpoint() and --kmsg-*: one line each.
  std::function<void(const std::string&)> log;
};

struct CheckpointStats {
  uint64_t image_bytes = 0;
  uint64_t pages = 0;
  // Where the time went, CLOCK_MONOTONIC nanoseconds (cr_checkpoint -v prints them):
  uint64_t stop_ns = 0;      // from the first stop request until every thread is stopped
  uint64_t metadata_ns = 0;  // then reading and writing everything but the pages
  uint64_t pages_ns = 0;     // then the pages and the trailer
  uint64_t frozen_ns = 0;    // from the first stop request until the last process is resumed
                             // (or killed): an upper bound of any one process's freeze
};

Result<CheckpointStats> checkpoint_process(const CheckpointOptions& options);

}  // namespace crest
