// A stand-in for the dumper's side of src/libcr/protocol.h, for libcr's tests: it signals
// a process, accepts its libcr's connection, sends a Request, reads Ready, answers with a
// chosen Result and reads Done. Nothing is frozen or written. Forward requests are
// answered with a chosen error.
//
//   libcr_cb_driver --pid PID [--tid TID] [--value V] [--src PATH] [--dest PATH]
//                   [--requester R] [--target T] [--scope S] [--signal N]
//                   [--expect-lib K] [--expect-decision D] [--forward-err E]
//                   [--delay-ms N] [--timeout-ms N] [--expect-no-connect]
//                   [--early-ms N]  (no Ready within N ms: send the Result anyway)
//
// Prints what it saw on stdout ("hello lib=0", "forward scope=0 target=5",
// "ready decision=0x1 handles=0", "done"). Exit status: 0 all as expected, 2 usage,
// 3 protocol failure or timeout, 4 an expectation failed.
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol.h"

namespace proto = crest::libcr_proto;

namespace {

int timeout_ms = 10000;

bool wait_readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  int rc;
  do rc = poll(&p, 1, timeout_ms);
  while (rc < 0 && errno == EINTR);
  return rc == 1;
}

int recv_packet(int fd, void* buf, size_t len) {
  if (!wait_readable(fd)) return -2;
  ssize_t n;
  do n = recv(fd, buf, len, 0);
  while (n < 0 && errno == EINTR);
  return static_cast<int>(n);
}

[[noreturn]] void fail(int code, const char* what) {
  fprintf(stderr, "libcr_cb_driver: %s\n", what);
  fflush(stdout);
  exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  pid_t pid = 0, tid = 0;
  int value = 0, scope = 0, sig = 0, forward_err = 0, delay_ms = 0, early_ms = -1;
  int requester = getpid(), target = 0;
  long expect_lib = -1, expect_decision = -1;
  bool expect_no_connect = false;
  const char* src = "";
  const char* dest = "/tmp/libcr_cb.context";
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    auto num = [&](long* out) {
      if (!v) fail(2, "missing value");
      *out = strtol(v, nullptr, 0);
      ++i;
    };
    long n;
    if (!strcmp(a, "--pid")) { num(&n); pid = static_cast<pid_t>(n); }
    else if (!strcmp(a, "--tid")) { num(&n); tid = static_cast<pid_t>(n); }
    else if (!strcmp(a, "--value")) { num(&n); value = static_cast<int>(n); }
    else if (!strcmp(a, "--scope")) { num(&n); scope = static_cast<int>(n); }
    else if (!strcmp(a, "--signal")) { num(&n); sig = static_cast<int>(n); }
    else if (!strcmp(a, "--requester")) { num(&n); requester = static_cast<int>(n); }
    else if (!strcmp(a, "--target")) { num(&n); target = static_cast<int>(n); }
    else if (!strcmp(a, "--forward-err")) { num(&n); forward_err = static_cast<int>(n); }
    else if (!strcmp(a, "--delay-ms")) { num(&n); delay_ms = static_cast<int>(n); }
    else if (!strcmp(a, "--timeout-ms")) { num(&n); timeout_ms = static_cast<int>(n); }
    else if (!strcmp(a, "--early-ms")) { num(&n); early_ms = static_cast<int>(n); }
    else if (!strcmp(a, "--expect-lib")) num(&expect_lib);
    else if (!strcmp(a, "--expect-decision")) num(&expect_decision);
    else if (!strcmp(a, "--expect-no-connect")) expect_no_connect = true;
    else if (!strcmp(a, "--src") && v) { src = v; ++i; }
    else if (!strcmp(a, "--dest") && v) { dest = v; ++i; }
    else fail(2, "usage: see driver.cc");
  }
  if (pid <= 0) fail(2, "--pid is required");

  uint64_t token = proto::kTokenTag | (static_cast<uint64_t>(getpid()) << 8) | 0x42;
  int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  char name[64];
  int len = proto::channel_name(name, getpid(), token);
  memcpy(addr.sun_path, name, static_cast<size_t>(len));
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len)) != 0 ||
      listen(lfd, 8) != 0)
    fail(3, "bind/listen failed");

  siginfo_t si = {};
  si.si_signo = proto::kSignal;
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(token));
  long rc = tid ? syscall(SYS_rt_tgsigqueueinfo, pid, tid, proto::kSignal, &si)
                : syscall(SYS_rt_sigqueueinfo, pid, proto::kSignal, &si);
  if (rc != 0) fail(3, "rt_sigqueueinfo failed");

  if (!wait_readable(lfd)) {
    if (expect_no_connect) {
      printf("no connection\n");
      return 0;
    }
    fail(3, "no connection from libcr");
  }
  int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) fail(3, "accept failed");
  if (expect_no_connect) fail(4, "libcr connected but should not have");

  proto::Hello hello = {};
  if (recv_packet(fd, &hello, sizeof hello) != sizeof hello || hello.magic != proto::kMagic ||
      hello.type != proto::kHello || hello.version != proto::kVersion)
    fail(3, "bad Hello");
  printf("hello pid=%d lib=%u\n", hello.pid, hello.lib);
  if (hello.pid != pid) fail(4, "Hello from another pid");
  if (expect_lib >= 0 && hello.lib != static_cast<uint32_t>(expect_lib)) fail(4, "unexpected library kind");

  static proto::Request req = {};
  req.magic = proto::kMagic;
  req.type = proto::kRequest;
  req.requester = requester;
  req.target = target;
  req.scope = scope;
  req.signal = sig;
  snprintf(req.dest, sizeof req.dest, "%s", dest);
  if (send(fd, &req, sizeof req, MSG_NOSIGNAL) != sizeof req) fail(3, "send Request");

  static union {
    proto::Ready ready;
    proto::Forward forward;
    char raw[sizeof(proto::Ready) + 64];
  } in;
  bool early = false;
  for (;;) {
    if (early_ms >= 0) {
      // Like the dumper at its time limit: answer without waiting for Ready.
      struct pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, early_ms) == 0) {
        early = true;
        printf("early result\n");
        break;
      }
    }
    int got = recv_packet(fd, &in, sizeof in);
    if (got < 8) fail(3, "no Ready");
    if (in.ready.type == proto::kForward) {
      printf("forward scope=%d target=%d\n", in.forward.scope, in.forward.target);
      proto::ForwardReply reply = {proto::kMagic, proto::kForwardReply, forward_err};
      if (send(fd, &reply, sizeof reply, MSG_NOSIGNAL) != sizeof reply) fail(3, "send ForwardReply");
      continue;
    }
    if (in.ready.type != proto::kReady || got != sizeof(proto::Ready)) fail(3, "bad Ready");
    break;
  }
  if (!early) {
    printf("ready decision=%#x handles=%u\n", in.ready.decision, in.ready.handle_count);
    fflush(stdout);
    if (expect_decision >= 0 && in.ready.decision != static_cast<uint32_t>(expect_decision))
      fail(4, "unexpected decision");
  }
  if (delay_ms) usleep(static_cast<useconds_t>(delay_ms) * 1000);

  static proto::Result result = {};
  result.magic = proto::kMagic;
  result.type = proto::kResult;
  result.value = value;
  snprintf(result.src, sizeof result.src, "%s", src);
  if (send(fd, &result, sizeof result, MSG_NOSIGNAL) != sizeof result) fail(3, "send Result");

  proto::Done done = {};
  if (recv_packet(fd, &done, sizeof done) != sizeof done || done.magic != proto::kMagic || done.type != proto::kDone)
    fail(3, "no Done");
  printf("done\n");
  return 0;
}
