// Process trees: each child is forked by its restored parent's stub (so parent links come
// out right), then execs its own executable under ptrace, as the first stub did. Its
// descriptors arrive over a unix socket every stub inherits (SCM_RIGHTS), so descriptors
// shared across processes stay one open file description.
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "restore/restore_context.h"
#include "sys/io.h"

namespace crest {

namespace {

Result<void> inject_execve(Tracee& t, RemoteSyscalls& sys, uint64_t scratch, const std::string& path) {
  // scratch: [argv[0], NULL] [envp NULL] path
  uint64_t path_addr = scratch + 64;
  uint64_t vec[3] = {path_addr, 0, 0};
  CR_TRY(t.write_memory(scratch, vec, sizeof vec));
  CR_TRY(t.write_memory(path_addr, path.c_str(), path.size() + 1));
  user_regs_struct r = sys.base();
  r.rip = sys.gadget();
  r.rax = SYS_execve;
  r.orig_rax = static_cast<uint64_t>(-1);
  r.rdi = path_addr;
  r.rsi = scratch;
  r.rdx = scratch + 16;
  CR_TRY(t.set_regs(r));
  // Stops: syscall entry, then the exec event (success) or the syscall exit (failure).
  CR_TRY(t.step_to_syscall_stop(), "execve of %s", path.c_str());
  if (ptrace(PTRACE_SYSCALL, t.tid(), nullptr, nullptr) != 0) return Error::os("ptrace(PTRACE_SYSCALL) for execve");
  int status = 0;
  if (waitpid(t.tid(), &status, __WALL) < 0) return Error::os("waitpid for execve");
  if (!WIFSTOPPED(status)) return Error::gone(format("process %d died in execve", t.tid()));
  if ((status >> 16) != PTRACE_EVENT_EXEC) {
    auto out = CR_TRY(t.get_regs());
    return Error::remote(format("execve of %s in process %d", path.c_str(), t.tid()), static_cast<int>(-static_cast<long>(out.rax)));
  }
  CR_TRY(t.step_to_syscall_stop(), "finishing execve");
  CR_TRY(t.reopen_mem());
  return {};
}

}  // namespace

Result<Tracee> fork_child_stub(StubSession& parent, pid_t want, bool fresh_pid, const std::string& exe,
                               const CredentialsRecord& creds) {
  Tracee child = CR_TRY(inject_clone3(parent, 0, want, fresh_pid, "process"));
  // The child is a copy of the parent stub: our area is mapped at the same address.
  RemoteSyscalls sys(child, parent.area, parent.sys.base());
  // Its executable is opened with its own rights, not its parent's.
  CR_TRY(act_as_in_stub(sys, child, parent.scratch, creds), "process %d", want);
  auto r = inject_execve(child, sys, parent.scratch, exe);
  if (!r) {
    // The executable is gone: grow the process out of the parent's instead (only
    // /proc/PID/exe differs).
    auto fallback = read_link(format("/proc/%d/exe", parent.tracee.tid()));
    if (!fallback) return r.error();
    CR_TRY(inject_execve(child, sys, parent.scratch, *fallback), "process %d", want);
  }
  return child;
}

Result<void> setup_child_basics(StubSession& s, const ProcessImage& image, const std::string& cwd) {
  const ProcessRecord& p = image.process;
  // The exec gave it root's filesystem ids again: its cwd is entered with its own.
  CR_TRY(act_as_in_stub(s.sys, s.tracee, s.scratch, acting_credentials(image)));
  CR_TRY(s.sys.call("umask", SYS_umask, {p.umask}));
  if (cwd.size() + 1 > 4096) return Error::invalid("working directory path too long");
  CR_TRY(s.tracee.write_memory(s.scratch, cwd.c_str(), cwd.size() + 1));
  CR_TRY(s.sys.call("chdir", SYS_chdir, {s.scratch}), "the saved working directory %s", cwd.c_str());
  CR_TRY(s.sys.call("personality", SYS_personality, {p.personality}));
  return {};
}

Result<int> pass_fd(StubSession& s, int sock_local, int sock_remote, int local) {
  char byte = 'F';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &local, sizeof(int));
  if (sendmsg(sock_local, &msg, 0) != 1) return Error::os(format("sending a descriptor to process %d", s.tracee.tid()));

  // In the stub's scratch: msghdr at +0, iovec at +64, data byte at +96, control at +128.
  const uint64_t base = s.scratch;
  msghdr remote{};
  remote.msg_iov = reinterpret_cast<iovec*>(base + 64);
  remote.msg_iovlen = 1;
  remote.msg_control = reinterpret_cast<void*>(base + 128);
  remote.msg_controllen = sizeof control;
  iovec remote_iov{reinterpret_cast<void*>(base + 96), 1};
  CR_TRY(s.tracee.write_memory(base, &remote, sizeof remote));
  CR_TRY(s.tracee.write_memory(base + 64, &remote_iov, sizeof remote_iov));
  CR_TRY(s.sys.call("recvmsg", SYS_recvmsg, {static_cast<uint64_t>(sock_remote), base, 0}));
  char got_control[sizeof control];
  CR_TRY(s.tracee.read_memory(base + 128, got_control, sizeof got_control));
  cmsghdr* gc = reinterpret_cast<cmsghdr*>(got_control);
  if (gc->cmsg_level != SOL_SOCKET || gc->cmsg_type != SCM_RIGHTS)
    return Error::os(format("process %d received no descriptor", s.tracee.tid()), EIO);
  int got;
  memcpy(&got, CMSG_DATA(gc), sizeof got);
  return got;
}

Result<void> install_fds(StubSession& s, int sock_local, int sock_remote, const std::vector<PreparedFd>& fds,
                         const FdTableRecord& table) {
  auto& sys = s.sys;
  if (sock_remote > 0) CR_TRY(sys.call("close_range", SYS_close_range, {0, static_cast<uint64_t>(sock_remote - 1), 0}));
  CR_TRY(sys.call("close_range", SYS_close_range, {static_cast<uint64_t>(sock_remote + 1), ~0u, 0}));
  for (const PreparedFd& p : fds) {
    int got = CR_TRY(pass_fd(s, sock_local, sock_remote, p.local), "fd %d", p.target);
    bool cloexec = false;
    for (const FdRecord& rec : table.fds)
      if (rec.fd == p.target) cloexec = rec.cloexec;
    if (got != p.target) {
      CR_TRY(sys.call("dup3", SYS_dup3, {static_cast<uint64_t>(got), static_cast<uint64_t>(p.target), cloexec ? O_CLOEXEC : 0u}));
      CR_TRY(sys.call("close", SYS_close, {static_cast<uint64_t>(got)}));
    } else if (cloexec) {
      CR_TRY(sys.call("fcntl(F_SETFD)", SYS_fcntl, {static_cast<uint64_t>(got), F_SETFD, FD_CLOEXEC}));
    }
  }
  return {};
}

}  // namespace crest
