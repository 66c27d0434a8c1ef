// The wire protocol between libcr (inside a cooperating process) and crest's dumper and
// restorer (cr_checkpoint, cr_restart), and between libcr's request API and the
// cr_checkpoint it starts to serve a request. docs/libcr.md explains the sequence; this
// header is the single definition of every message. Plain structs only: libcr includes it
// without the C++ runtime, and every message is sent whole (one SOCK_SEQPACKET packet, or
// one write() of at most PIPE_BUF bytes on a handle pipe).
#pragma once

#include <stdint.h>

namespace crest::libcr_proto {

// BLCR's CR_SIGNUM: the reserved real-time signal (SIGRTMAX on x86-64 glibc).
inline constexpr int kSignal = 64;

// BLCR's error numbers (blcr_errcodes.h), for the engine, which does not include the
// public C headers.
enum CrErrno : int {
  kETempFail = 2354, kEPermFail = 2355, kENoSupport = 2356, kEVersion = 2357, kEOmitted = 2358,
  kEBadArch = 2359, kEPtraced = 2360, kEPtracer = 2361, kERstrtAbrt = 2362, kERestarted = 2363,
  kENotCb = 2364, kENoInit = 2365,
};

// cr_checkpoint() flag values (blcr_common.h).
inline constexpr uint32_t kCheckpointReady = 0, kCheckpointTempFailure = 1, kCheckpointPermFailure = 2,
                          kCheckpointOmit = 4;

inline constexpr uint32_t kMagic = 0x43524C43;  // "CLRC"
inline constexpr uint32_t kVersion = 1;

// ---------------------------------------------------------------------------------------
// Dumper <-> libcr: the callback protocol of one checkpoint.
//
// The dumper listens on the abstract unix socket (SOCK_SEQPACKET) named by
// channel_name(dumper_pid, token), then sends kSignal to each cooperating process with
// rt_sigqueueinfo (thread-directed with rt_tgsigqueueinfo to the requesting thread when the
// requester is inside the scope): si_code = SI_QUEUE, si_pid = the dumper's pid, si_uid =
// its uid, si_value.sival_ptr = token. A token always has kTokenTag in its top 16 bits;
// copies of the signal without it (sent by a user) are ignored by libcr. libcr's own
// phase-2 signals to its other threads carry kInternalToken and si_pid == getpid().
inline constexpr uint64_t kTokenTag = 0xC5E7ull << 48;
inline constexpr uint64_t kTokenTagMask = 0xFFFFull << 48;
inline constexpr uint64_t kInternalToken = kTokenTag | 1;

// Writes "\0crest-libcr/<pid>/<token as 16 hex digits>" into out (not NUL terminated: an
// abstract name); returns its length, to be added to offsetof(sockaddr_un, sun_path).
inline int channel_name(char out[64], int dumper_pid, uint64_t token) {
  const char prefix[] = "crest-libcr/";
  int n = 0;
  out[n++] = '\0';
  for (const char* p = prefix; *p; ++p) out[n++] = *p;
  char digits[12];
  int d = 0;
  unsigned v = static_cast<unsigned>(dumper_pid);
  do digits[d++] = static_cast<char>('0' + v % 10); while ((v /= 10) && d < 12);
  while (d) out[n++] = digits[--d];
  out[n++] = '/';
  for (int shift = 60; shift >= 0; shift -= 4) out[n++] = "0123456789abcdef"[(token >> shift) & 15];
  return n;
}

enum MsgType : uint32_t {
  kHello = 1,       // libcr -> dumper, first packet after connect()
  kRequest = 2,     // dumper -> libcr, answer to kHello: what is being checkpointed
  kForward = 3,     // libcr -> dumper: cr_forward_checkpoint() from a callback
  kForwardReply = 4,
  kReady = 5,       // libcr -> dumper: every callback reached cr_checkpoint(); the decision
  kResult = 6,      // dumper (or restorer) -> libcr: what cr_checkpoint() returns
  kDone = 7,        // libcr -> dumper/restorer: "after" code, hooks and hold barrier done
};

// Which library answered.
enum LibKind : uint32_t { kLibcr = 0, kLibcrRun = 1, kLibcrOmit = 2 };

struct Hello {
  uint32_t magic, type, version;
  int32_t pid;          // getpid() of the process
  uint32_t lib;         // LibKind
  int32_t channel_fd;   // this socket's descriptor number in the process (restored specially)
};

inline constexpr int kPathMax = 4096;

struct Request {
  uint32_t magic, type;
  int32_t requester;    // tgid of the process that asked (cr_checkpoint's parent shell, say)
  int32_t target;       // as requested (0: the requester itself)
  int32_t scope;        // cr_scope_t
  int32_t signal;       // cr_signal of the request
  char dest[kPathMax];  // cr_checkpoint_info.dest encoding (BLCR-API.md 1.3)
};

struct Forward {
  uint32_t magic, type;
  int32_t scope, target;
};

struct ForwardReply {
  uint32_t magic, type;
  int32_t err;          // 0 or an errno value (ESRCH, EPERM, EINVAL, EBUSY, EDEADLK)
};

inline constexpr int kMaxHandles = 64;

struct Ready {
  uint32_t magic, type;
  // What the innermost cr_checkpoint() of every callback in the process was called with,
  // combined: CR_CHECKPOINT_READY (0), _OMIT (4), _TEMP_FAILURE (1 | code << 16),
  // _PERM_FAILURE (2 | code << 16); PERM beats TEMP beats OMIT.
  uint32_t decision;
  // Descriptors of checkpoint requests still in flight in this process (the requester's
  // own handle, say): restored as handles whose reap fails with CR_ERESTARTED.
  uint32_t handle_count;
  int32_t handles[kMaxHandles];
};

struct Result {
  uint32_t magic, type;
  // 0: continue (the image is written); > 0: running in a restarted process, the value is
  // the restarter's pid; < 0: -errno of a failure (-CR_ETEMPFAIL or -code, -CR_EPERMFAIL,
  // -CR_EOMITTED, -ENOSPC, ...).
  int32_t value;
  // For a restart: cr_restart's positive signal (--term, --kill, --signal; not --stop),
  // which libcr raises itself as it does the request's on the continue path (Done.raised);
  // 0 if none.
  int32_t signal;
  char src[kPathMax];   // for a restart: cr_restart_info.src
};

struct Done {
  uint32_t magic, type;
  // The positive signal of the request (Request.signal > 0, continue path) or of the
  // restart (Result.signal) that libcr raised itself while still inside its handler with
  // every signal blocked, so it is delivered before the interrupted program runs again
  // (BLCR's order); 0 if none. The dumper (restorer) does not send that signal again.
  int32_t raised;
  int32_t pad;
};

// ---------------------------------------------------------------------------------------
// Request handle: libcr's cr_request_checkpoint() <-> the cr_checkpoint that serves it
// (and cr_request_restart() <-> the cr_restart that serves it, the same way: started with
// --libcr-restart-handle-fd, it is the caller's child and makes the restored top-level
// processes the caller's children too; its kFinished carries the leader's pid).
//
// The handle is the read end of a pipe (close-on-exec); the serving cr_checkpoint holds the
// write end (--libcr-handle-fd). It writes one kAccepted message once the request is
// checked (err != 0: the request failed; with CR_CHKPT_ASYNC_ERR, errors wait for kFinished
// instead), then one kFinished message with the result, followed by log_len bytes of
// newline-separated messages (cr_log_checkpoint), and closes the pipe. A restored handle is
// a pipe holding a single kFinished with err == CR_ERESTARTED and an empty log.
enum HandleMsgType : uint32_t { kAccepted = 1, kFinished = 2 };

struct HandleMsg {
  uint32_t magic, type;
  int32_t err;          // 0 or errno
  uint32_t log_len;     // bytes of log text following a kFinished message
  int32_t leader;       // restart requests: the restored leader's pid (0 if none)
  int32_t pad;
};

}  // namespace crest::libcr_proto
