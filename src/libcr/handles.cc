// The handle table (handles.h) and handles_in_flight() for the CR_SIGNUM handler.
#include "handles.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libcr.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "internal.h"
#include "protocol.h"

extern char** environ;

namespace crest::libcr {
namespace {

using libcr_proto::HandleMsg;
using libcr_proto::kMaxHandles;

HandleState g_handles[kMaxHandles] = {
#define CREST_FREE_SLOT {-1, false, 0, nullptr, 0}
#define CREST_FREE_8 CREST_FREE_SLOT, CREST_FREE_SLOT, CREST_FREE_SLOT, CREST_FREE_SLOT, \
                     CREST_FREE_SLOT, CREST_FREE_SLOT, CREST_FREE_SLOT, CREST_FREE_SLOT
    CREST_FREE_8, CREST_FREE_8, CREST_FREE_8, CREST_FREE_8,
    CREST_FREE_8, CREST_FREE_8, CREST_FREE_8, CREST_FREE_8,
#undef CREST_FREE_8
#undef CREST_FREE_SLOT
};
static_assert(kMaxHandles == 64, "g_handles' initialiser lists 64 free slots");

int load_fd(const HandleState& h) { return __atomic_load_n(&h.fd, __ATOMIC_ACQUIRE); }

}  // namespace

long read_full(int fd, void* buf, unsigned long n) {
  unsigned long done = 0;
  while (done < n) {
    ssize_t r = read(fd, static_cast<char*>(buf) + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) {
      if (done == 0) return 0;
      errno = EIO;  // a message cut short
      return -1;
    }
    done += static_cast<unsigned long>(r);
  }
  return static_cast<long>(done);
}

HandleState* handle_find(int fd) {
  if (fd < 0) return nullptr;
  for (HandleState& h : g_handles)
    if (load_fd(h) == fd) return &h;
  return nullptr;
}

HandleState* handle_claim(int fd) {
  if (HandleState* stale = handle_find(fd)) handle_release(stale);
  for (HandleState& h : g_handles) {
    int expected = -1;
    if (__atomic_compare_exchange_n(&h.fd, &expected, -2, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
      h.finished = false;
      h.err = 0;
      h.log = nullptr;
      h.log_len = 0;
      h.leader = 0;
      h.server = 0;
      __atomic_store_n(&h.fd, fd, __ATOMIC_RELEASE);
      return &h;
    }
  }
  return nullptr;
}

void handle_release(HandleState* h) {
  if (h->server > 0) {
    int saved = errno, status;
    while (waitpid(h->server, &status, h->finished ? 0 : WNOHANG) < 0 && errno == EINTR) {
    }
    errno = saved;
    h->server = 0;
  }
  free(h->log);
  h->log = nullptr;
  h->log_len = 0;
  h->finished = false;
  __atomic_store_n(&h->fd, -1, __ATOMIC_RELEASE);
}

void handle_finish(HandleState* h, int32_t err) {
  h->finished = true;
  h->err = err;
}

void handle_pump(HandleState* h) {
  while (!h->finished) {
    struct pollfd p = {h->fd, POLLIN, 0};
    int n = poll(&p, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nothing yet (or the descriptor is gone: the reap will say so)
    if (p.revents & POLLNVAL) return;
    HandleMsg msg;
    long r = read_full(h->fd, &msg, sizeof msg);
    if (r <= 0 || msg.magic != libcr_proto::kMagic) {
      // End of file, a read error or garbage: the server is gone without a result.
      handle_finish(h, EIO);
      return;
    }
    if (msg.type == libcr_proto::kAccepted) continue;  // (already handled by the request)
    if (msg.type != libcr_proto::kFinished) {
      handle_finish(h, EIO);
      return;
    }
    if (msg.log_len > 0) {
      char* log = static_cast<char*>(malloc(msg.log_len));
      if (log && read_full(h->fd, log, msg.log_len) == static_cast<long>(msg.log_len)) {
        h->log = log;
        h->log_len = msg.log_len;
      } else {
        free(log);
      }
    }
    h->leader = msg.leader;
    handle_finish(h, msg.err);
  }
}

int handles_in_flight(int* fds, int max) {
  int n = 0;
  for (const HandleState& h : g_handles) {
    int fd = load_fd(h);
    if (fd >= 0 && n < max) fds[n++] = fd;
  }
  return n;
}

bool find_tool(const char* env, const char* name, char* out, unsigned long size) {
  const char* value = getenv(env);
  if (value && *value) {
    snprintf(out, size, "%s", value);
    return true;
  }
  Dl_info info;
  if (!dladdr(reinterpret_cast<void*>(&handle_claim), &info) || !info.dli_fname) return false;
  char dir[PATH_MAX - 64];  // room for "/../bin/NAME" in out
  snprintf(dir, sizeof dir, "%s", info.dli_fname);
  char* slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof dir, ".");
  snprintf(out, size, "%s/%s", dir, name);
  if (access(out, X_OK) == 0) return true;
  snprintf(out, size, "%s/../bin/%s", dir, name);
  return access(out, X_OK) == 0;
}

int handle_reap(unsigned long* handle) {
  if (!handle) return fail(EINVAL);
  long value = static_cast<long>(*handle);
  if (value < 0 || value > INT_MAX) {
    *handle = static_cast<unsigned long>(-1);
    return fail(EBADF);
  }
  int fd = static_cast<int>(value);
  HandleState* h = handle_find(fd);
  if (!h) {
    if (fcntl(fd, F_GETFD) < 0) {
      *handle = static_cast<unsigned long>(-1);
      return fail(EBADF);
    }
    return fail(ENOTTY);  // an open descriptor that is no request: left alone
  }
  handle_pump(h);
  if (!h->finished) {
    if (fcntl(fd, F_GETFD) < 0) {  // closed behind our back
      handle_release(h);
      *handle = static_cast<unsigned long>(-1);
      return fail(EBADF);
    }
    return fail(EAGAIN);
  }
  int err = h->err, leader = h->leader;
  handle_release(h);
  close(fd);
  *handle = static_cast<unsigned long>(-1);
  return err != 0 ? fail(err) : leader;
}

namespace {

// A restarted requester's handle is ready at once (it holds CR_ERESTARTED), while the
// restart part of that checkpoint may still run in other threads (a thread-context
// callback, the hold barrier): the request is complete from the application's view only
// when cr_status() says IDLE again (BLCR). Waits for that, up to what is left of timeout
// (false when it runs out). A thread that is itself part of the checkpoint (a callback,
// its hook) does not wait for itself.
bool wait_restart_complete(unsigned long* handle, struct timeval* timeout) {
  HandleState* h = handle_find(static_cast<int>(*handle));
  if (!h) return true;
  handle_pump(h);
  if (!h->finished || h->err != CR_ERESTARTED) return true;
  ThreadState* self = current();
  if (self && (__atomic_load_n(&self->in_part, __ATOMIC_ACQUIRE) > 0 || __atomic_load_n(&self->active, __ATOMIC_ACQUIRE) > 0))
    return true;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  long long limit_ms = timeout ? timeout->tv_sec * 1000LL + (timeout->tv_usec + 999) / 1000 : -1;
  for (;;) {
    int busy = __atomic_load_n(&g.busy, __ATOMIC_ACQUIRE);
    if (!busy) return true;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long spent = (now.tv_sec - start.tv_sec) * 1000LL + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (limit_ms >= 0 && spent >= limit_ms) return false;
    long long wait = limit_ms < 0 ? 100 : limit_ms - spent < 100 ? limit_ms - spent : 100;
    futex_wait(&g.busy, busy, static_cast<int>(wait));
  }
}

}  // namespace

int handle_poll(unsigned long* handle, struct timeval* timeout, char** msg_p, int (*reap)(unsigned long*),
                int done_bias) {
  int rc = cr_wait_checkpoint(handle, timeout);
  if (rc == 0) return 0;
  if (rc < 0) return CR_POLL_CHKPT_ERR_PRE;
  if (!wait_restart_complete(handle, timeout)) return 0;
  if (msg_p) {
    int len = cr_log_checkpoint(handle, 0, nullptr);
    if (len < 0) return CR_POLL_CHKPT_ERR_LOG;
    if (len > 0) {
      char* buf = static_cast<char*>(malloc(static_cast<size_t>(len)));
      if (!buf) {
        errno = ENOMEM;
        return CR_POLL_CHKPT_ERR_LOG;
      }
      if (cr_log_checkpoint(handle, static_cast<unsigned>(len), buf) < 0) {
        free(buf);
        return CR_POLL_CHKPT_ERR_LOG;
      }
      *msg_p = buf;
    }
  }
  int result = reap(handle);
  if (result < 0) return CR_POLL_CHKPT_ERR_POST;
  return result + done_bias;
}

[[noreturn]] void exec_server(const char* path, char* const* argv, int handle_w, int data, bool keep_others) {
  // Out of the way first, then to the fixed numbers (dup2 also clears close-on-exec).
  int hw = fcntl(handle_w, F_DUPFD_CLOEXEC, 10);
  int d = fcntl(data, F_DUPFD_CLOEXEC, 10);
  if (hw < 0 || d < 0 || dup2(hw, kServerHandleFd) < 0 || dup2(d, kServerDataFd) < 0) _exit(127);
  if (keep_others) {
    close(hw);
    close(d);
  } else {
    syscall(SYS_close_range, kServerDataFd + 1, ~0U, 0);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  execve(path, argv, environ);
  HandleMsg msg = {libcr_proto::kMagic, libcr_proto::kAccepted, ENOSYS, 0, 0, 0};
  ssize_t ignored = write(kServerHandleFd, &msg, sizeof msg);
  (void)ignored;
  _exit(127);
}

}  // namespace crest::libcr
