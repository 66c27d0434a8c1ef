// A test-only stand-in for libcr's signal handler: the libcr side of src/libcr/protocol.h
// written by hand, so that the dumper's and restorer's side can be tested on its own.
// Built as "libcr.so.coop" (the dumper recognises a process by a mapped file whose name
// starts with libcr.so and CR_SIGNUM caught).
//
// Behaviour, from the environment at signal time:
//   FAKECR_DECISION  ready (default) | temp | temp:CODE | perm | perm:CODE | omit | never | exit
//                    (never: no Ready is sent; the handler still waits for a Result;
//                    exit: _exit(7) instead of Ready)
//   FAKECR_DELAY_MS  sleep this long in the "callbacks" before Ready
//   FAKECR_RESTART_DELAY_MS  after a restart's Result, sleep this long before Done
//   FAKECR_HANDLES   comma-separated descriptor numbers reported as request handles
//   FAKECR_FORWARD   "SCOPE:TARGET": one cr_forward_checkpoint() before Ready
//   FAKECR_LOG       file to append one line per event to:
//                      hello PID lib=.. req=REQUESTER target=.. scope=.. signal=.. dest=..
//                      forward PID err=E
//                      result PID value=V src=SRC
//                      done PID
//                      usr1 PID after_done=0|1  (SIGUSR1 handler, to check signal order)
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "libcr/protocol.h"

namespace proto = crest::libcr_proto;

namespace {

volatile sig_atomic_t g_done_sent = 0;

void log_line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_line(const char* fmt, ...) {
  const char* path = getenv("FAKECR_LOG");
  if (!path) return;
  char buf[4400];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > static_cast<int>(sizeof buf) - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return;
  (void)!write(fd, buf, n);
  close(fd);
}

uint32_t decision_from_env() {
  const char* d = getenv("FAKECR_DECISION");
  if (!d || !strcmp(d, "ready")) return proto::kCheckpointReady;
  uint32_t code = 0;
  if (const char* colon = strchr(d, ':')) code = static_cast<uint32_t>(atoi(colon + 1));
  if (!strncmp(d, "temp", 4)) return proto::kCheckpointTempFailure | code << 16;
  if (!strncmp(d, "perm", 4)) return proto::kCheckpointPermFailure | code << 16;
  if (!strcmp(d, "omit")) return proto::kCheckpointOmit;
  return 0xFFFFFFFF;  // never
}

// After Result: the "after" part, then Done; the channel is closed.
void finish(int conn) {
  int saved = errno;
  proto::Result r{};
  ssize_t n = recv(conn, &r, sizeof r, 0);
  if (n >= static_cast<ssize_t>(offsetof(proto::Result, src)) && r.magic == proto::kMagic && r.type == proto::kResult) {
    r.src[sizeof r.src - 1] = 0;
    log_line("result %d value=%d src=%s", getpid(), r.value, r.src);
    const char* delay = getenv("FAKECR_RESTART_DELAY_MS");
    if (delay && r.value > 0) {
      long ms = atol(delay);
      timespec ts{ms / 1000, (ms % 1000) * 1000000};
      while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      }
    }
    // Logged first: once Done is out the dumper may stop or kill us at once.
    g_done_sent = 1;
    log_line("done %d", getpid());
    proto::Done d{proto::kMagic, proto::kDone};
    if (send(conn, &d, sizeof d, MSG_NOSIGNAL) != sizeof d) log_line("done-failed %d errno=%d", getpid(), errno);
  } else {
    log_line("result %d none (recv %zd, errno %d)", getpid(), n, n < 0 ? errno : 0);
  }
  close(conn);
  errno = saved;
}

void handler(int, siginfo_t* info, void*) {
  int saved = errno;
  uint64_t token = reinterpret_cast<uint64_t>(info->si_value.sival_ptr);
  if (info->si_code != SI_QUEUE || (token & proto::kTokenTagMask) != proto::kTokenTag || token == proto::kInternalToken) {
    errno = saved;
    return;
  }
  g_done_sent = 0;
  int conn = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  char name[64];
  int len = proto::channel_name(name, info->si_pid, token);
  memcpy(addr.sun_path, name, len);
  if (connect(conn, reinterpret_cast<sockaddr*>(&addr), offsetof(sockaddr_un, sun_path) + len) != 0) {
    log_line("connect %d failed errno=%d", getpid(), errno);
    close(conn);
    errno = saved;
    return;
  }
  ucred cred{};
  socklen_t cl = sizeof cred;
  if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || cred.pid != info->si_pid) {
    log_line("peer %d is not the signal's sender %d", cred.pid, info->si_pid);
    close(conn);
    errno = saved;
    return;
  }
  proto::Hello h{proto::kMagic, proto::kHello, proto::kVersion, getpid(), proto::kLibcr, conn};
  send(conn, &h, sizeof h, MSG_NOSIGNAL);
  static proto::Request req;
  ssize_t n = recv(conn, &req, sizeof req, 0);
  if (n != sizeof req || req.type != proto::kRequest) {
    log_line("request %d: bad (%zd)", getpid(), n);
    close(conn);
    errno = saved;
    return;
  }
  req.dest[sizeof req.dest - 1] = 0;
  log_line("hello %d lib=0 req=%d target=%d scope=%d signal=%d dest=%s", getpid(), req.requester, req.target, req.scope,
           req.signal, req.dest);
  if (const char* f = getenv("FAKECR_FORWARD")) {
    proto::Forward fw{proto::kMagic, proto::kForward, atoi(f), atoi(strchr(f, ':') ? strchr(f, ':') + 1 : "0")};
    send(conn, &fw, sizeof fw, MSG_NOSIGNAL);
    proto::ForwardReply rep{};
    recv(conn, &rep, sizeof rep, 0);
    log_line("forward %d err=%d", getpid(), rep.err);
  }
  if (const char* d = getenv("FAKECR_DELAY_MS")) {
    long ms = atol(d);
    timespec ts{ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  if (const char* d = getenv("FAKECR_DECISION"); d && !strcmp(d, "exit")) _exit(7);  // dies in its callbacks
  uint32_t decision = decision_from_env();
  if (decision != 0xFFFFFFFF) {
    proto::Ready r{};
    r.magic = proto::kMagic;
    r.type = proto::kReady;
    r.decision = decision;
    if (const char* hs = getenv("FAKECR_HANDLES")) {
      for (const char* p = hs; *p && r.handle_count < proto::kMaxHandles;) {
        r.handles[r.handle_count++] = atoi(p);
        p = strchr(p, ',');
        if (!p) break;
        ++p;
      }
    }
    send(conn, &r, sizeof r, MSG_NOSIGNAL);
  }
  finish(conn);
  errno = saved;
}

void on_usr1(int) { log_line("usr1 %d after_done=%d", getpid(), static_cast<int>(g_done_sent)); }

__attribute__((constructor)) void install() {
  struct sigaction sa {};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  sigaction(proto::kSignal, &sa, nullptr);
  if (getenv("FAKECR_USR1")) {
    struct sigaction su {};
    su.sa_handler = on_usr1;
    su.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &su, nullptr);
  }
}

}  // namespace

extern "C" {
int fakecr_link_me = 1;
}
