// The full library (libcr.so.0): protocol.h's LibKind, and the symbols BLCR's libcr
// exported for linking and for code that needs the signal number at run time.
#include "internal.h"
#include "protocol.h"

namespace crest::libcr {
extern const uint32_t kLibKind = libcr_proto::kLibcr;
}

extern "C" {
// Exists only so that "-u cr_link_me" pulls libcr into a static or --as-needed link.
__attribute__((visibility("default"))) int cr_link_me = 0;
__attribute__((visibility("default"))) extern const int cri_signum = crest::libcr_proto::kSignal;
}
