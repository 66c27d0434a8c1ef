// Checkpointer: one checkpoint from start to finish: freeze, read every resource, write
// the image, then apply the after-checkpoint action and thaw.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>

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
  Compression compression;  // of memory pages (--compress)
  int out_fd = -1;
  AfterCheckpoint after = AfterCheckpoint::Run;
  int after_signal = 0;  // for Signal: SIGSTOP, SIGTERM, SIGCONT, ...
  // Called now and then with the bytes written so far (progress display).
  std::function<void(uint64_t)> progress;
  // Polled between steps; true makes the checkpoint give up (the -t limit).
  std::function<bool()> cancelled;
};

struct CheckpointStats {
  uint64_t image_bytes = 0;
  uint64_t pages = 0;
};

Result<CheckpointStats> checkpoint_process(const CheckpointOptions& options);

}  // namespace crest
