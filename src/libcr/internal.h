// What the parts of libcr need from each other (not installed, not exported: every symbol
// here is hidden by the version scripts). The request side (request.cc, handles.cc) and the
// callback side (state.cc, handler.cc, ...) meet only here.
#pragma once

#include <stdint.h>

extern "C++" {
namespace crest::libcr {

// Request side -> callback side.
// Descriptors of this process's checkpoint requests still in flight (handles not yet
// reaped). Async-signal-safe (called from the CR_SIGNUM handler). Returns the count
// written (at most max).
int handles_in_flight(int* fds, int max);

// Callback side -> request side.
// True while the calling thread is inside a callback of a checkpoint being serviced
// (cr_request_checkpoint() from a callback, for instance). Async-signal-safe.
bool in_callback();

// Which library this copy is: protocol.h's LibKind. Defined once per .so.
extern const uint32_t kLibKind;

}  // namespace crest::libcr
}
