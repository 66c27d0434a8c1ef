// cr_restart: BLCR's tool. Restores a process from an image, stays its parent, forwards
// signals to it and exits as it exits (or dies of the signal that killed it).
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "base/fd.h"
#include "restore/restorer.h"
#include "tool_common.h"

using namespace crest;

namespace {

volatile pid_t g_child = 0;

struct Options {
  std::string file;
  int fd = -1;
  bool restore_pid = true;
  bool restore_pgid = false;
  bool restore_sid = false;
  std::vector<std::pair<std::string, std::string>> relocations;
  int signal = 0;
  bool quiet = false;
};

void usage(FILE* out) {
  fprintf(out,
          "Usage: cr_restart [options] [CONTEXT_FILE]\n"
          "Restart a process from a checkpoint image (crest %s). cr_restart stays the parent of the\n"
          "restored process, forwards signals to it, and exits with its exit status.\n\n"
          "  -f, --file FILE         read the image from FILE\n"
          "  -F, --fd FD             read the image from descriptor FD (a pipe works)\n"
          "  --no-restore-pid        give the process a new pid (restoring the original one needs\n"
          "                          CAP_CHECKPOINT_RESTORE)\n"
          "  --restore-pid           restore the original pid (default)\n"
          "  --restore-pgid          restore process groups (default: join cr_restart's)\n"
          "  --restore-sid           restore sessions (default: join cr_restart's)\n"
          "  --relocate OLD=NEW      open files, mapped files and the cwd under OLD from NEW (up to 16)\n"
          "  --run                   let the process run (default)\n"
          "  -S, --signal NUM        send signal NUM once it runs\n"
          "  --stop, --term, --abort, --kill, --cont\n"
          "                          send SIGSTOP, SIGTERM, SIGABRT, SIGKILL, SIGCONT once it runs\n"
          "  -q, --quiet             no messages on stderr\n"
          "  -h, -?, --help          this help\n"
          "  -v, --version           print the version\n"
          "Accepted for BLCR compatibility, no effect yet: --omit-*, --kmsg-*\n",
          CREST_VERSION);
}

enum LongOnly {
  kNoRestorePid = 1000, kRestorePid, kRestorePgid, kNoRestorePgid, kRestoreSid, kNoRestoreSid, kRelocate, kRun, kStop,
  kTerm, kAbort, kKill, kCont, kIgnored,
};

int parse(int argc, char** argv, Options& o) {
  static const option longopts[] = {
      {"help", no_argument, nullptr, 'h'}, {"version", no_argument, nullptr, 'v'},
      {"quiet", no_argument, nullptr, 'q'}, {"file", required_argument, nullptr, 'f'},
      {"fd", required_argument, nullptr, 'F'}, {"dir", required_argument, nullptr, 'd'},
      {"no-restore-pid", no_argument, nullptr, kNoRestorePid}, {"restore-pid", no_argument, nullptr, kRestorePid},
      {"relocate", required_argument, nullptr, kRelocate}, {"run", no_argument, nullptr, kRun},
      {"signal", required_argument, nullptr, 'S'}, {"stop", no_argument, nullptr, kStop},
      {"freeze", no_argument, nullptr, kStop}, {"term", no_argument, nullptr, kTerm},
      {"abort", no_argument, nullptr, kAbort}, {"kill", no_argument, nullptr, kKill},
      {"cont", no_argument, nullptr, kCont}, {"omit-maybe", no_argument, nullptr, kIgnored},
      {"omit-always", no_argument, nullptr, kIgnored}, {"omit-never", no_argument, nullptr, kIgnored},
      {"restore-pgid", no_argument, nullptr, kRestorePgid}, {"no-restore-pgid", no_argument, nullptr, kNoRestorePgid},
      {"restore-sid", no_argument, nullptr, kRestoreSid}, {"no-restore-sid", no_argument, nullptr, kNoRestoreSid},
      {"kmsg-none", no_argument, nullptr, kIgnored}, {"kmsg-error", no_argument, nullptr, kIgnored},
      {"kmsg-warning", no_argument, nullptr, kIgnored}, {nullptr, 0, nullptr, 0}};
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; ++i)
    if (strcmp(argv[i], "-?") == 0) { usage(stdout); return 0; }
  int c, sources = 0;
  while ((c = getopt_long(argc, argv, "hvqf:F:d:S:", longopts, nullptr)) != -1) {
    switch (c) {
      case 'h': usage(stdout); return 0;
      case 'v': printf("cr_restart version %s (crest)\n", CREST_VERSION); return 0;
      case 'q': o.quiet = true; break;
      case 'f': o.file = optarg; ++sources; break;
      case 'F': {
        char* end;
        long v = strtol(optarg, &end, 10);
        if (*end || v < 0) { fprintf(stderr, "cr_restart: --fd '%s' is not a descriptor number\n", optarg); return kExitUsage; }
        o.fd = static_cast<int>(v); ++sources; break;
      }
      case 'd': if (!o.quiet) fprintf(stderr, "cr_restart: -d flag not yet implemented\n"); return EINVAL;
      case kNoRestorePid: o.restore_pid = false; break;
      case kRestorePid: o.restore_pid = true; break;
      case kRestorePgid: o.restore_pgid = true; break;
      case kNoRestorePgid: o.restore_pgid = false; break;
      case kRestoreSid: o.restore_sid = true; break;
      case kNoRestoreSid: o.restore_sid = false; break;
      case kRelocate: {
        auto r = parse_relocation(optarg);
        if (!r) { fprintf(stderr, "cr_restart: %s\n", r.error().message().c_str()); return EINVAL; }
        if (r->first == r->second) break;
        if (o.relocations.size() == 16) { fprintf(stderr, "cr_restart: at most 16 --relocate options\n"); return EINVAL; }
        o.relocations.push_back(*r);
        break;
      }
      case kRun: o.signal = 0; break;
      case 'S': {
        char* end;
        long v = strtol(optarg, &end, 10);
        if (*end || v < 1 || v >= NSIG) { fprintf(stderr, "cr_restart: invalid signal '%s'\n", optarg); return EINVAL; }
        o.signal = static_cast<int>(v); break;
      }
      case kStop: o.signal = SIGSTOP; break;
      case kTerm: o.signal = SIGTERM; break;
      case kAbort: o.signal = SIGABRT; break;
      case kKill: o.signal = SIGKILL; break;
      case kCont: o.signal = SIGCONT; break;
      case kIgnored: break;
      default: usage(stderr); return kExitUsage;
    }
  }
  if (optind < argc) {
    o.file = argv[optind++];
    ++sources;
  }
  if (optind < argc || sources != 1) {
    fprintf(stderr, "cr_restart: give exactly one image (FILE, -f FILE or -F FD)\n");
    usage(stderr);
    return kExitUsage;
  }
  return -1;
}

void forward(int sig) {
  int saved = errno;
  if (g_child > 0) kill(g_child, sig);
  if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) raise(SIGSTOP);
  errno = saved;
}

// BLCR's contract: forward every catchable signal, then mirror the exit.
[[noreturn]] void supervise(pid_t child) {
  g_child = child;
  struct sigaction sa {};
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGCHLD || sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
        sig == SIGFPE || (sig >= 32 && sig < SIGRTMIN))
      continue;
    sigaction(sig, &sa, nullptr);
  }
  // Other top-level processes of the image are our children too: reap them as they
  // end, and mirror the eldest.
  int status = 0;
  for (;;) {
    pid_t got = waitpid(-1, &status, __WALL);
    if (got < 0) {
      if (errno == EINTR) continue;
      _exit(0);
    }
    if (got == child) break;
  }
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  int sig = WTERMSIG(status);
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  kill(getpid(), sig);
  _exit(128 + sig);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  int early = parse(argc, argv, o);
  if (early >= 0) return early;

  // The descriptors we were started with, before we open anything of our own.
  std::vector<int> inherited;
  if (DIR* d = opendir("/proc/self/fd")) {
    int self = dirfd(d);
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      int fd = atoi(e->d_name);
      if (fd != self && fd != o.fd) inherited.push_back(fd);
    }
    closedir(d);
  }

  Fd owned;
  int in = o.fd;
  std::string name = format("fd %d", o.fd);
  if (!o.file.empty()) {
    struct stat st {};
    if (stat(o.file.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      if (!o.quiet) fprintf(stderr, "cr_restart: %s is a directory, not an image\n", o.file.c_str());
      return EISDIR;
    }
    owned = Fd(open(o.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned.valid()) {
      int e = errno;
      if (!o.quiet) fprintf(stderr, "cr_restart: cannot open image %s: %s\n", o.file.c_str(), strerror(e));
      return e & 0xff;
    }
    in = owned.get();
    name = o.file;
  } else if (fcntl(in, F_GETFD) < 0) {
    if (!o.quiet) fprintf(stderr, "cr_restart: --fd %d is not an open descriptor\n", in);
    return EBADF;
  } else {
    fcntl(in, F_SETFD, FD_CLOEXEC);
  }

  ProgressLine progress("cr_restart", "read");
  RestoreOptions ropt;
  ropt.in_fd = in;
  ropt.image_name = name;
  ropt.restore_pid = o.restore_pid;
  ropt.restore_pgid = o.restore_pgid;
  ropt.restore_sid = o.restore_sid;
  ropt.relocations = o.relocations;
  ropt.after_signal = o.signal;
  ropt.inherited_fds = inherited;
  ropt.progress = [&](uint64_t b) { progress.update(b); };
  auto pid = restore_process(ropt);
  progress.finish();
  if (!pid) {
    if (!o.quiet) fprintf(stderr, "cr_restart: restart failed: %s\n", pid.error().message().c_str());
    return exit_code_for(pid.error());
  }
  owned.reset();
  supervise(*pid);
}
