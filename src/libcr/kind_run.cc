// libcr_run.so.0: only the signal handler answers (no callbacks); the process is
// checkpointable without having been linked with libcr.
#include "internal.h"
#include "protocol.h"

namespace crest::libcr {
extern const uint32_t kLibKind = libcr_proto::kLibcrRun;
}

extern "C" {
// "-lcr_run -u cr_run_link_me" in static or --as-needed links.
__attribute__((visibility("default"))) int cr_run_link_me = 0;
}
