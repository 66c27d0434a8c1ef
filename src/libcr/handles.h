// The table of this process's checkpoint request handles (handles.cc), shared by the
// request API (request.cc, deprecated.cc). Not installed.
//
// A handle is the read end of a pipe whose write end the serving cr_checkpoint holds
// (protocol.h, HandleMsg). The table is a fixed array so that the CR_SIGNUM handler can
// list the descriptors (handles_in_flight() in internal.h) without locks or allocation;
// the slots' descriptor fields are the only thing the handler reads.
#pragma once

#include <errno.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

extern "C++" {
namespace crest::libcr {

struct HandleState {
  int fd;             // -1: slot free
  bool finished;      // the kFinished message (or end of file) was read
  int32_t err;        // its err: 0 or an errno value
  char* log;          // its log text (malloc'ed, may be null), log_len bytes, no NUL
  uint32_t log_len;
  int32_t leader;     // restart requests: kFinished's leader pid
  pid_t server;       // restart requests: the serving cr_restart, our child, reaped at the end
};

// Takes a free slot for fd (dropping any stale slot of the same number: a handle that was
// closed without a reap). Null when all kMaxHandles slots are in use.
HandleState* handle_claim(int fd);

// The slot of fd, or null when fd is not one of this process's handles.
HandleState* handle_find(int fd);

// Frees the slot (and its log) and reaps a restart's serving cr_restart, errno left as it
// was (the application may have reaped it already): waiting for it when it has answered
// (it exits right after), only if it has exited already when the handle was dropped
// unfinished (it may still be restoring). The descriptor is the caller's to close.
void handle_release(HandleState* h);

// errno = err; returns -1: the failure return of the request API.
inline int fail(int err) {
  errno = err;
  return -1;
}

// Reads what the server has written so far without blocking: fills finished, err and log
// once the kFinished message is there, or marks the request finished with EIO when the
// pipe ends without one (the server died).
void handle_pump(HandleState* h);

// Marks h finished with err (no log).
void handle_finish(HandleState* h, int32_t err);

// Reads exactly n bytes, retrying after EINTR and short reads. Returns n, 0 on end of file
// before anything was read, or -1 with errno.
long read_full(int fd, void* buf, unsigned long n);

// The path of crest tool `name` (cr_checkpoint, cr_restart) that serves requests: $env if
// set, else next to this library (build tree), else in ../bin from it (installed).
bool find_tool(const char* env, const char* name, char* out, unsigned long size);

// Descriptor numbers a serving tool finds the handle's write end and the image at.
inline constexpr int kServerHandleFd = 3;
inline constexpr int kServerDataFd = 4;

// In a freshly forked child (async-signal-safe only; never returns): puts handle_w and
// data at kServerHandleFd / kServerDataFd, closes every other descriptor unless
// keep_others (then only close-on-exec ones go, at the exec), resets signal mask and
// dispositions, and execs path. If the exec fails, answers the request with ENOSYS on the
// handle, as the tool would have.
[[noreturn]] void exec_server(const char* path, char* const* argv, int handle_w, int data, bool keep_others);

// The shared part of cr_reap_checkpoint / cr_reap_restart: EBADF / ENOTTY / EAGAIN as
// BLCR's reap, else releases the handle (closing it, *handle = -1) and returns -1 with the
// request's errno, or a restart's leader pid (0 for a checkpoint).
int handle_reap(unsigned long* handle);

// cr_poll_checkpoint_msg / cr_poll_restart_msg (their ERR_PRE/POST/LOG values are equal):
// wait, copy the log, reap with `reap`; returns 0 (not done), < 0 an error constant, or
// reap's non-negative result plus `done_bias` (1 for a checkpoint: BLCR returns 1).
int handle_poll(unsigned long* handle, struct timeval* timeout, char** msg_p, int (*reap)(unsigned long*),
                int done_bias);

}  // namespace crest::libcr
}
