// BLCR's experimental restart-request API (BLCR-API.md 1.9), served like a checkpoint
// request (request.cc): cr_request_restart() starts a cr_restart with
// --libcr-restart-handle-fd, answering on a pipe (protocol.h HandleMsg). Unlike the
// checkpoint server it is a direct child of the caller (one fork, no setsid), because the
// restored top-level processes must be the caller's children: cr_restart creates them
// with CLONE_PARENT, so they are its siblings, and drives them with PTRACE_SEIZE. They join
// the caller's process group and session unless CR_RSTRT_RESTORE_PGID / _SID. The reap
// collects cr_restart's exit too, and returns the leader's pid (BLCR: the first restored
// process whose parent is the requester).
#include <fcntl.h>
#include <libcr.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handles.h"
#include "protocol.h"

namespace crest::libcr {
namespace {

using libcr_proto::HandleMsg;

constexpr int kMaxArgs = 16 + 2 * CR_MAX_RSTRT_RELOC;

// "--relocate=OLD=NEW" with cr_restart's escapes (\= and \\) in both paths. Returns the
// malloc'ed argument, or null.
char* relocate_arg(const char* from, const char* to) {
  size_t n = strlen("--relocate=") + 2 * (strlen(from) + strlen(to)) + 2;
  char* out = static_cast<char*>(malloc(n));
  if (!out) return nullptr;
  char* p = stpcpy(out, "--relocate=");
  for (const char* s = from; *s; ++s) {
    if (*s == '=' || *s == '\\') *p++ = '\\';
    *p++ = *s;
  }
  *p++ = '=';
  for (const char* s = to; *s; ++s) {
    if (*s == '=' || *s == '\\') *p++ = '\\';
    *p++ = *s;
  }
  *p = '\0';
  return out;
}

}  // namespace
}  // namespace crest::libcr

using namespace crest::libcr;
namespace libcr_proto = crest::libcr_proto;

extern "C" {

int cr_request_restart(cr_restart_args_t* args, cr_restart_handle_t* handle) {
  if (!args || !handle) return fail(EINVAL);
  if (args->cr_version != CR_RESTART_ARGS_VERSION) return fail(EINVAL);
  struct stat st;
  if (args->cr_fd < 0 || fstat(args->cr_fd, &st) != 0) return fail(EBADF);
  if (args->cr_signal <= -NSIG || args->cr_signal >= NSIG) return fail(EINVAL);
  const cr_rstrt_relocate* reloc = args->cr_relocate;
  if (reloc && reloc->count > CR_MAX_RSTRT_RELOC) return fail(EINVAL);
  if (reloc)
    for (unsigned i = 0; i < reloc->count; ++i)
      if (!reloc->path[i].oldpath || !reloc->path[i].newpath) return fail(EINVAL);
  *handle = static_cast<cr_restart_handle_t>(-1);

  char server[PATH_MAX];
  if (!find_tool("CREST_CR_RESTART", "cr_restart", server, sizeof server)) return fail(ENOSYS);
  char a_handle[48], a_fd[16], a_signal[48];
  snprintf(a_handle, sizeof a_handle, "--libcr-restart-handle-fd=%d", kServerHandleFd);
  snprintf(a_fd, sizeof a_fd, "%d", kServerDataFd);
  const char* argv[kMaxArgs];
  char* owned[CR_MAX_RSTRT_RELOC] = {};
  int n = 0, n_owned = 0;
  argv[n++] = "cr_restart";
  argv[n++] = a_handle;
  argv[n++] = (args->cr_flags & CR_RSTRT_RESTORE_PID) ? "--restore-pid" : "--no-restore-pid";
  argv[n++] = (args->cr_flags & CR_RSTRT_RESTORE_PGID) ? "--restore-pgid" : "--no-restore-pgid";
  argv[n++] = (args->cr_flags & CR_RSTRT_RESTORE_SID) ? "--restore-sid" : "--no-restore-sid";
  if (args->cr_signal > 0) {
    snprintf(a_signal, sizeof a_signal, "--signal=%d", args->cr_signal);
    argv[n++] = a_signal;
  } else if (args->cr_signal < 0) {
    snprintf(a_signal, sizeof a_signal, "--early-signal=%d", -args->cr_signal);
    argv[n++] = a_signal;
  }
  for (unsigned i = 0; reloc && i < reloc->count; ++i) {
    char* a = relocate_arg(reloc->path[i].oldpath, reloc->path[i].newpath);
    if (!a) {
      for (int k = 0; k < n_owned; ++k) free(owned[k]);
      return fail(ENOMEM);
    }
    owned[n_owned++] = a;
    argv[n++] = a;
  }
  argv[n++] = "-F";
  argv[n++] = a_fd;
  argv[n] = nullptr;

  int p[2];
  int rc = pipe2(p, O_CLOEXEC);
  HandleState* state = rc == 0 ? handle_claim(p[0]) : nullptr;
  if (!state) {
    int err = rc == 0 ? ENOMEM : errno;
    if (rc == 0) {
      close(p[0]);
      close(p[1]);
    }
    for (int k = 0; k < n_owned; ++k) free(owned[k]);
    return fail(err);
  }
  pid_t child = fork();
  // cr_restart keeps the application's other descriptors (close-on-exec ones go): it hands
  // them to restored processes whose pipes and terminals led outside the image, as BLCR's
  // restart in the caller did.
  if (child == 0) exec_server(server, const_cast<char* const*>(argv), p[1], args->cr_fd, true);
  int fork_errno = errno;
  for (int k = 0; k < n_owned; ++k) free(owned[k]);
  close(p[1]);
  if (child < 0) {
    handle_release(state);
    close(p[0]);
    return fail(fork_errno);
  }
  state->server = child;

  HandleMsg msg;
  long r = read_full(p[0], &msg, sizeof msg);
  int err = 0;
  if (r <= 0 || msg.magic != libcr_proto::kMagic || msg.type != libcr_proto::kAccepted)
    err = EIO;
  else
    err = msg.err;
  if (err != 0) {
    handle_finish(state, err);  // it answered: it exits now, and the release waits for it
    handle_release(state);
    close(p[0]);
    return fail(err);
  }
  *handle = static_cast<cr_restart_handle_t>(p[0]);
  return 0;
}

int cr_wait_restart(cr_restart_handle_t* handle, struct timeval* timeout) {
  return cr_wait_checkpoint(handle, timeout);
}

int cr_log_restart(cr_restart_handle_t* handle, unsigned int len, char* msg) {
  return cr_log_checkpoint(handle, len, msg);
}

int cr_reap_restart(cr_restart_handle_t* handle) { return handle_reap(handle); }

int cr_poll_restart_msg(cr_restart_handle_t* handle, struct timeval* timeout, char** msg_p) {
  return handle_poll(handle, timeout, msg_p, cr_reap_restart, 0);
}

int cr_poll_restart(cr_restart_handle_t* handle, struct timeval* timeout) {
  return cr_poll_restart_msg(handle, timeout, nullptr);
}

}  // extern "C"
