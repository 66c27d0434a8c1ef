// libcr_omit.so.0: only the signal handler, which always answers OMIT.
#include "internal.h"
#include "protocol.h"

namespace crest::libcr {
extern const uint32_t kLibKind = libcr_proto::kLibcrOmit;
}

extern "C" {
// "-lcr_omit -u cr_omit_link_me" in static or --as-needed links.
__attribute__((visibility("default"))) int cr_omit_link_me = 0;
}
