// Before any process is made: is this machine one the image can run on? The CPU must
// have every feature the checkpointing one had, and each file mapped by reference must
// be the file that was mapped (docs/design.md, "Trust").
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/result.h"
#include "image/format.h"
#include "records/machine_record.h"
#include "restore/restorer.h"

namespace crest {

// Refuses (exit 55) a CPU lacking a feature of the image's, naming each; warns when the
// kernel release differs. --allow-missing-cpu-features turns the refusal into a warning.
Result<void> check_machine(const ImageHeader& header, const CpuFeaturesRecord& cpu, const RestoreOptions& options);

// Refuses (exit 116, ESTALE) a file of `files` that changed since the checkpoint, naming
// it and what changed. A file that is gone is left to the mapping step, which reports
// it. --allow-changed-files turns the refusal into a warning.
Result<void> check_mapped_files(pid_t pid, const std::vector<MappedFileRecord>& files, const RestoreOptions& options);

}  // namespace crest
