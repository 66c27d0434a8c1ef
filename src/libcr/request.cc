// The request API of BLCR-API.md 1.6: cr_request_checkpoint() starts a cr_checkpoint that
// serves the request; the handle is the read end of a pipe the server answers on
// (protocol.h, HandleMsg; docs/libcr.md, "The request API"). wait = select(), log / reap /
// poll read the server's kFinished message.
#include <fcntl.h>
#include <libcr.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "handles.h"
#include "internal.h"
#include "protocol.h"

namespace crest::libcr {

// The callback side defines the real one; this default keeps the request side linkable
// (and correct) without it.
__attribute__((weak)) bool in_callback() { return false; }

namespace {

using libcr_proto::HandleMsg;


// pid of the process thread tid belongs to, from /proc/TID/status; tid itself when that
// cannot be read (the server then reports ESRCH for a tid that does not exist).
pid_t tgid_of(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(tid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tid;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return tid;
  buf[n] = '\0';
  const char* tgid = strstr(buf, "\nTgid:");
  if (!tgid) return tid;
  return static_cast<pid_t>(strtol(tgid + 6, nullptr, 10));
}

pid_t ppid_of(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* ppid = strstr(buf, "\nPPid:");
  return ppid ? static_cast<pid_t>(strtol(ppid + 6, nullptr, 10)) : 0;
}

// Whether the caller's process is inside scope/id (id resolved).
bool includes_self(int scope, pid_t id) {
  pid_t self = getpid();
  switch (scope) {
    case CR_SCOPE_PROC: return id == self;
    case CR_SCOPE_PGRP: return id == getpgrp();
    case CR_SCOPE_SESS: return id == getsid(0);
    case CR_SCOPE_TREE:
      for (pid_t p = self; p > 0; p = ppid_of(p))
        if (p == id) return true;
      return false;
  }
  return false;
}

bool valid_dest(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) return false;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: case S_IFCHR: case S_IFIFO: case S_IFSOCK: case S_IFDIR: return true;
    default: return false;  // block devices, anonymous-inode files...
  }
}

}  // namespace
}  // namespace crest::libcr

using namespace crest::libcr;
namespace libcr_proto = crest::libcr_proto;

extern "C" {

int cr_request_checkpoint(cr_checkpoint_args_t* args, cr_checkpoint_handle_t* handle) {
  if (!args || !handle) return fail(EINVAL);
  if (args->cr_version != CR_CHECKPOINT_ARGS_VERSION) return fail(EINVAL);
  const int scope = static_cast<int>(args->cr_scope);
  if (scope < CR_SCOPE_PROC || scope > CR_SCOPE_TREE) return fail(EINVAL);
  if (args->cr_signal <= -NSIG || args->cr_signal >= NSIG) return fail(EINVAL);
  if (!valid_dest(args->cr_fd)) return fail(EINVAL);
  if ((args->cr_flags & CR_CHKPT_PTRACED_ALLOW) && (args->cr_flags & CR_CHKPT_PTRACED_SKIP))
    return fail(EINVAL);

  // The id the server gets: target 0 is the caller's own process / group / session; a
  // PROC target may be any thread of a process.
  pid_t id = args->cr_target;
  if (id == 0) {
    switch (scope) {
      case CR_SCOPE_PGRP: id = getpgrp(); break;
      case CR_SCOPE_SESS: id = getsid(0); break;
      default: id = getpid(); break;
    }
  } else if (id < 0) {
    return fail(ESRCH);
  } else if (scope == CR_SCOPE_PROC) {
    id = tgid_of(id);
  }
  // From a callback, a checkpoint of one's own process would wait for itself.
  if (in_callback() && includes_self(scope, id)) return fail(EBUSY);

  // From here on a failure also invalidates *handle, as BLCR's did once it had opened
  // the request's descriptor.
  *handle = static_cast<cr_checkpoint_handle_t>(-1);
  char server[PATH_MAX];
  if (!find_tool("CREST_CR_CHECKPOINT", "cr_checkpoint", server, sizeof server)) return fail(ENOSYS);

  // The server's command line (tools/cr_checkpoint.cc parses it).
  char a_handle[48], a_requester[48], a_target[48], a_fd[16], a_signal[48], a_time[24], a_id[24];
  snprintf(a_handle, sizeof a_handle, "--libcr-handle-fd=%d", kServerHandleFd);
  snprintf(a_requester, sizeof a_requester, "--libcr-requester=%d", static_cast<int>(gettid()));
  snprintf(a_target, sizeof a_target, "--libcr-target=%d", static_cast<int>(args->cr_target));
  snprintf(a_fd, sizeof a_fd, "%d", kServerDataFd);
  snprintf(a_id, sizeof a_id, "%d", static_cast<int>(id));
  const char* argv[40];
  int n = 0;
  argv[n++] = "cr_checkpoint";
  argv[n++] = a_handle;
  argv[n++] = a_requester;
  argv[n++] = a_target;
  static const char* const kScopeOption[] = {"--pid", "--pgid", "--sid", "--tree"};
  argv[n++] = kScopeOption[scope];
  argv[n++] = "-F";
  argv[n++] = a_fd;
  if (args->cr_signal > 0) {
    snprintf(a_signal, sizeof a_signal, "%d", args->cr_signal);
    argv[n++] = "-S";
    argv[n++] = a_signal;
  } else if (args->cr_signal < 0) {
    snprintf(a_signal, sizeof a_signal, "--early-signal=%d", -args->cr_signal);
    argv[n++] = a_signal;
  }
  if (args->cr_timeout > 0) {
    snprintf(a_time, sizeof a_time, "%u", args->cr_timeout);
    argv[n++] = "-t";
    argv[n++] = a_time;
  }
  const unsigned flags = args->cr_flags;
  if (flags & CR_CHKPT_PTRACED_ALLOW) argv[n++] = "--ptraced-allow";
  if (flags & CR_CHKPT_PTRACED_SKIP) argv[n++] = "--ptraced-skip";
  if (flags & CR_CHKPT_PTRACER_SKIP) argv[n++] = "--ptracer-skip";
  if (flags & CR_CHKPT_DUMP_EXEC) argv[n++] = "--save-exe";
  if (flags & CR_CHKPT_DUMP_PRIVATE) argv[n++] = "--save-private";
  if (flags & CR_CHKPT_DUMP_SHARED) argv[n++] = "--save-shared";
  if (flags & CR_CHKPT_REQUIRE_LIBCR) argv[n++] = "--require-libcr";
  if (flags & CR_CHKPT_PROHIBIT_SELF) argv[n++] = "--prohibit-self";
  if (flags & CR_CHKPT_ASYNC_ERR) argv[n++] = "--async-err";
  argv[n++] = "--nosync";
  argv[n++] = a_id;
  argv[n] = nullptr;

  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  HandleState* state = handle_claim(p[0]);
  if (!state) {
    close(p[0]);
    close(p[1]);
    return fail(ENOMEM);
  }
  // Double fork: the server is no child of the application's (nothing for it to reap),
  // and in no process group or session it could be asked to checkpoint. The intermediate
  // child is a raw clone() with no exit signal: the application gets no SIGCHLD for it,
  // and its own wait()/waitpid(-1) never see it (only __WALL does, below). No atfork
  // handlers run, so this is safe in any thread; both children make only
  // async-signal-safe calls.
  long child = syscall(SYS_clone, 0UL, nullptr, nullptr, nullptr, 0UL);
  if (child < 0) {
    int err = errno;
    handle_release(state);
    close(p[0]);
    close(p[1]);
    return fail(err);
  }
  if (child == 0) {
    long grandchild = syscall(SYS_clone, static_cast<unsigned long>(SIGCHLD), nullptr, nullptr, nullptr, 0UL);
    if (grandchild == 0) {
      setsid();  // in no process group or session it could be asked to checkpoint
      exec_server(server, const_cast<char* const*>(argv), p[1], args->cr_fd, false);
    }
    _exit(grandchild < 0 ? 1 : 0);
  }
  close(p[1]);
  int status = 0;
  while (waitpid(static_cast<pid_t>(child), &status, __WALL) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    handle_release(state);
    close(p[0]);
    return fail(EAGAIN);  // the intermediate child could not fork
  }

  // The server's first word: kAccepted (err != 0: refused). In a restarted copy of a
  // process that was checkpointed while it waited here, the restored pipe holds the
  // kFinished message with CR_ERESTARTED instead: the request went through.
  //
  // The server signals this thread (when its process is in the scope) before it answers,
  // and the whole checkpoint of this process runs in that signal's handler while we wait
  // here (BLCR: the image is written before the request returns). So CR_SIGNUM must not be
  // blocked in this thread meanwhile, as BLCR's kernel forced it open.
  sigset_t checkpoint_signal, saved_mask;
  sigemptyset(&checkpoint_signal);
  sigaddset(&checkpoint_signal, libcr_proto::kSignal);
  pthread_sigmask(SIG_UNBLOCK, &checkpoint_signal, &saved_mask);
  int err = 0;
  HandleMsg msg;
  long r = read_full(p[0], &msg, sizeof msg);
  if (r <= 0 || msg.magic != libcr_proto::kMagic)
    err = EIO;  // the server went away without answering
  else if (msg.type == libcr_proto::kAccepted)
    err = msg.err;
  else if (msg.type == libcr_proto::kFinished && msg.err == CR_ERESTARTED)
    handle_finish(state, CR_ERESTARTED);  // this is the restarted copy: the request is over
  else
    err = EIO;
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  if (err != 0) {
    handle_release(state);
    close(p[0]);
    return fail(err);  // *handle is -1 already
  }
  *handle = static_cast<cr_checkpoint_handle_t>(p[0]);
  return 0;
}

int cr_wait_checkpoint(cr_checkpoint_handle_t* handle, struct timeval* timeout) {
  if (!handle) return fail(EINVAL);
  long value = static_cast<long>(*handle);
  if (value < 0) return fail(EBADF);
  if (value > INT_MAX) return fail(EINVAL);
  int fd = static_cast<int>(value);
  if (HandleState* h = handle_find(fd); h && h->finished) return 1;
  if (fd < FD_SETSIZE) {
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(fd, &readable);
    return select(fd + 1, &readable, nullptr, nullptr, timeout);
  }
  // Beyond select()'s reach: poll(), writing the remaining time back as select() would.
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  int ms = -1;
  if (timeout) {
    long long total = timeout->tv_sec * 1000LL + (timeout->tv_usec + 999) / 1000;
    ms = total > INT_MAX ? INT_MAX : static_cast<int>(total);
  }
  struct pollfd p = {fd, POLLIN, 0};
  int rc = poll(&p, 1, ms);
  if (rc > 0 && (p.revents & POLLNVAL)) return fail(EBADF);
  if (timeout) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long left = (timeout->tv_sec * 1000000LL + timeout->tv_usec) -
                     ((now.tv_sec - start.tv_sec) * 1000000LL + (now.tv_nsec - start.tv_nsec) / 1000);
    if (rc == 0 || left < 0) left = 0;
    timeout->tv_sec = left / 1000000;
    timeout->tv_usec = left % 1000000;
  }
  return rc;
}

int cr_log_checkpoint(cr_checkpoint_handle_t* handle, unsigned int len, char* msg) {
  if (!handle) return fail(EINVAL);
  long value = static_cast<long>(*handle);
  HandleState* h = (value >= 0 && value <= INT_MAX) ? handle_find(static_cast<int>(value)) : nullptr;
  if (!h) return fail(EINVAL);  // no request on this descriptor
  if (len > 0 && !msg) return fail(EFAULT);
  handle_pump(h);
  if (!h->finished || h->log_len == 0) {
    if (len > 0) msg[0] = '\0';  // always NUL-terminated when len allows
    return 0;
  }
  if (len > 0) {
    unsigned copy = h->log_len < len - 1 ? h->log_len : len - 1;
    memcpy(msg, h->log, copy);
    msg[copy] = '\0';
  }
  return static_cast<int>(h->log_len + 1);
}

int cr_reap_checkpoint(cr_checkpoint_handle_t* handle) { return handle_reap(handle); }

int cr_poll_checkpoint_msg(cr_checkpoint_handle_t* handle, struct timeval* timeout, char** msg_p) {
  return handle_poll(handle, timeout, msg_p, cr_reap_checkpoint, 1);
}

int cr_poll_checkpoint(cr_checkpoint_handle_t* handle, struct timeval* timeout) {
  return cr_poll_checkpoint_msg(handle, timeout, nullptr);
}

}  // extern "C"
