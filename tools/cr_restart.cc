// cr_restart: BLCR's tool. Restores a process from an image, stays its parent, forwards
// signals to it and exits as it exits (or dies of the signal that killed it).
#include <dirent.h>
#include <dlfcn.h>
#include <libcr.h>
#include <pthread.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "base/fd.h"
#include "image_dir.h"
#include "libcr/protocol.h"
#include "sys/io.h"
#include "restore/restorer.h"
#include "tool_common.h"

using namespace crest;

namespace {

volatile pid_t g_child = 0;

enum class Omit { Maybe, Always, Never };

// BLCR's event hooks (--run-on-*): run with system(); a non-zero exit of a failure hook
// becomes cr_restart's exit code, and nothing is printed.
enum Hook { kHookSuccess, kHookTemp, kHookEnv, kHookArgs, kHookPerm, kHookCount };

struct Options {
  std::string file;
  int fd = -1;
  std::string dir;
  bool restore_pid = true;
  bool restore_pgid = false;
  bool restore_sid = false;
  std::vector<std::pair<std::string, std::string>> relocations;
  bool allow_missing_cpu_features = false;
  bool allow_changed_files = false;
  bool tcp_established = false;
  int signal = 0;
  int early_signal = 0;  // --early-stop / --early-abrt (hidden, as in BLCR)
  Kmsg kmsg = Kmsg::Error;
  Omit omit = Omit::Maybe;
  std::string hooks[kHookCount];
  bool quiet = false;
  int handle_fd = -1;  // serving libcr's cr_request_restart() (--libcr-restart-handle-fd)
  bool trust_image_ids = false;
};

Options* g_options = nullptr;  // for fail()

// ---- cr_restart inside later checkpoints (BLCR-API.md 3.3) ----
// libcr is loaded at run time, when it is found next to cr_restart (or in ../lib, or by
// its soname): without it cr_restart works as before and is checkpointed like any
// process. With it, a thread-context callback decides, per --omit-*, whether cr_restart
// is left out of a checkpoint, and adds the processes it restored to it.
struct LibcrApi {
  decltype(&cr_init) init = nullptr;
  decltype(&cr_register_callback) register_callback = nullptr;
  decltype(&cr_checkpoint) checkpoint = nullptr;
  decltype(&cr_get_checkpoint_info) info = nullptr;
  decltype(&cr_forward_checkpoint) forward = nullptr;
};
LibcrApi g_libcr;
Omit g_omit = Omit::Maybe;
// Held from before the restore to after it: cr_restart is never checkpointed mid-restart.
pthread_mutex_t g_restart_lock = PTHREAD_MUTEX_INITIALIZER;
volatile pid_t g_restored = 0;  // the eldest restored process, once it runs

int restart_callback(void*) {
  const cr_checkpoint_info* info = g_libcr.info();
  int decision = CR_CHECKPOINT_READY;
  switch (g_omit) {
    case Omit::Always: decision = CR_CHECKPOINT_OMIT; break;
    case Omit::Never: decision = CR_CHECKPOINT_READY; break;
    case Omit::Maybe:
      // The checkpoint's target, or an orphan: not part of the job.
      if ((info && info->target == getpid()) || getppid() == 1) decision = CR_CHECKPOINT_OMIT;
      break;
  }
  pthread_mutex_lock(&g_restart_lock);
  if (g_restored > 0) {
    // The restored tree goes into the checkpoint with us, or without us.
    if (g_libcr.forward(CR_SCOPE_TREE, getpid()) < 0 && errno != ESRCH && !g_options->quiet)
      fprintf(stderr, "cr_restart: warning: cr_forward_checkpoint: %s\n", strerror(errno));
  } else {
    decision = CR_CHECKPOINT_READY;  // nothing restored yet: nothing to leave out
  }
  g_libcr.checkpoint(decision);
  pthread_mutex_unlock(&g_restart_lock);
  return 0;
}

template <typename F>
bool find_symbol(void* lib, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  return out != nullptr;
}

bool load_libcr() {
  std::vector<std::string> candidates;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    std::string dir(self, strrchr(self, '/') ? strrchr(self, '/') - self : 0);
    candidates.push_back(dir + "/libcr.so.0");
    candidates.push_back(dir + "/../lib/libcr.so.0");
  }
  candidates.push_back("libcr.so.0");
  void* lib = nullptr;
  for (const std::string& c : candidates)
    if ((lib = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL))) break;
  if (!lib) return false;
  LibcrApi api;
  if (!find_symbol(lib, "cr_init", api.init) || !find_symbol(lib, "cr_register_callback", api.register_callback) ||
      !find_symbol(lib, "cr_checkpoint", api.checkpoint) || !find_symbol(lib, "cr_get_checkpoint_info", api.info) ||
      !find_symbol(lib, "cr_forward_checkpoint", api.forward))
    return false;
  g_libcr = api;
  if (g_libcr.init() < 0) return false;
  return g_libcr.register_callback(restart_callback, nullptr, CR_THREAD_CONTEXT) >= 0;
}

// The hook's exit status (-1 if it did not exit normally: BLCR's convention), or 0 when
// no hook is set.
int run_hook(const Options& o, Hook hook) {
  const std::string& cmd = o.hooks[hook];
  if (cmd.empty()) return 0;
  fflush(nullptr);
  int status = system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// BLCR's triage of a restart failure (its failure()): which hook it runs.
Hook hook_for_errno(int err) {
  switch (err) {
    case ENOMEM:
    case EBUSY:  // a pid in use
      return kHookTemp;
    case EACCES:
    case EPERM:
    case ENOENT:
    case EEXIST:
    case EISDIR:
    case ENOTDIR:
      return kHookEnv;
    default:
      return kHookPerm;
  }
}

// Runs the hook; exits with its code if that is not 0. Otherwise prints the message
// (unless --quiet) and returns `code`, for the caller to exit with.
// Lists the restart's warnings (--kmsg-*) once a failure is reported.
std::function<void()> g_failure_log;

__attribute__((format(printf, 3, 4))) int fail(int code, Hook hook, const char* fmt, ...) {
  if (int hv = run_hook(*g_options, hook)) exit(hv);
  if (g_failure_log) g_failure_log();
  if (!g_options->quiet) {
    va_list ap;
    va_start(ap, fmt);
    fputs("cr_restart: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
  }
  return code;
}

void usage(FILE* out) {
  fprintf(out,
          "Usage: cr_restart [options] [CONTEXT_FILE]\n"
          "Restart a process from a checkpoint image (crest %s). cr_restart stays the parent of the\n"
          "restored process, forwards signals to it, and exits with its exit status.\n\n"
          "  -f, --file FILE         read the image from FILE\n"
          "  -F, --fd FD             read the image from descriptor FD (a pipe works)\n"
          "  -d, --dir DIR           read the images DIR/context.PID written by cr_checkpoint -d DIR\n"
          "  --no-restore-pid        give the process a new pid (restoring the original one needs\n"
          "                          CAP_CHECKPOINT_RESTORE)\n"
          "  --restore-pid           restore the original pid (default)\n"
          "  --restore-pgid          restore process groups (default: join cr_restart's)\n"
          "  --restore-sid           restore sessions (default: join cr_restart's)\n"
          "  --relocate OLD=NEW      open files, mapped files and the cwd under OLD from NEW (up to 16)\n"
          "  --allow-changed-files   restart even if a file mapped by reference changed since the\n"
          "                          checkpoint (default: refused, exit 116)\n"
          "  --tcp-established       restore TCP connections saved with cr_checkpoint --tcp-established\n"
          "                          (to peers outside the image; root: TCP_REPAIR)\n"
          "  --allow-missing-cpu-features\n"
          "                          restart on a CPU lacking a feature of the checkpointing one\n"
          "                          (default: refused, exit 55)\n"
          "  --trust-image-ids       as root, give the saved ids even when the image is not root's\n"
          "                          (by default an image owned by a user restores only that user's ids)\n"
          "  --run                   let the process run (default)\n"
          "  -S, --signal NUM        send signal NUM once it runs\n"
          "  --stop, --term, --abort, --kill, --cont\n"
          "                          send SIGSTOP, SIGTERM, SIGABRT, SIGKILL, SIGCONT once it runs\n"
          "  --omit-maybe            leave cr_restart out of a checkpoint of which it is the target or\n"
          "                          when it is an orphan (default); --omit-always, --omit-never\n"
          "  --run-on-success='cmd'    run cmd once the restarted processes run; if it fails,\n"
          "                            exit at once with its exit code\n"
          "  --run-on-fail-args='cmd'  run cmd on invalid arguments (an unreadable image included)\n"
          "  --run-on-fail-temp='cmd'  run cmd on a temporary failure (ENOMEM, EBUSY: a pid in use)\n"
          "  --run-on-fail-env='cmd'   run cmd on an environmental failure (EACCES, EPERM, ENOENT,\n"
          "                            EEXIST, EISDIR, ENOTDIR)\n"
          "  --run-on-fail-perm='cmd'  run cmd on any other failure (a corrupt image, say)\n"
          "  --run-on-failure='cmd'    all four failure hooks\n"
          "                          a failure hook that exits non-zero gives cr_restart its exit code\n"
          "  --kmsg-none, --kmsg-error, --kmsg-warning\n"
          "                          list the restart's warnings (each prefixed \"- \") never, on failure\n"
          "                          (default; on success they are shown as plain warnings), always\n"
          "  -q, --quiet             no messages on stderr\n"
          "  -h, -?, --help          this help\n"
          "  -v, --version           print the version\n",
          CREST_VERSION);
}

enum LongOnly {
  kNoRestorePid = 1000, kRestorePid, kRestorePgid, kNoRestorePgid, kRestoreSid, kNoRestoreSid, kRelocate, kRun, kStop,
  kTerm, kAbort, kKill, kCont, kEarlyStop, kEarlyAbrt, kOmitMaybe, kOmitAlways, kOmitNever, kKmsgNone, kKmsgError,
  kKmsgWarning, kHookSuccess_, kHookTemp_, kHookEnv_, kHookArgs_, kHookPerm_, kHookFailure, kEarlySignal, kHandleFd,
  kAllowCpu, kAllowChangedFiles, kTcpEstablished, kTrustImageIds,
};

int usage_error(const char* fmt, const char* arg) {
  if (int hv = run_hook(*g_options, kHookArgs)) exit(hv);
  if (!g_options->quiet) {
    fputs("cr_restart: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    usage(stderr);
  }
  if (g_options->handle_fd >= 0) return EINVAL;
  return kExitUsage;
}

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
      {"cont", no_argument, nullptr, kCont}, {"early-stop", no_argument, nullptr, kEarlyStop},
      {"early-abrt", no_argument, nullptr, kEarlyAbrt}, {"omit-maybe", no_argument, nullptr, kOmitMaybe},
      {"omit-always", no_argument, nullptr, kOmitAlways}, {"omit-never", no_argument, nullptr, kOmitNever},
      {"restore-pgid", no_argument, nullptr, kRestorePgid}, {"no-restore-pgid", no_argument, nullptr, kNoRestorePgid},
      {"restore-sid", no_argument, nullptr, kRestoreSid}, {"no-restore-sid", no_argument, nullptr, kNoRestoreSid},
      {"kmsg-none", no_argument, nullptr, kKmsgNone}, {"kmsg-error", no_argument, nullptr, kKmsgError},
      {"kmsg-warning", no_argument, nullptr, kKmsgWarning},
      {"trust-image-ids", no_argument, nullptr, kTrustImageIds},
      {"run-on-success", required_argument, nullptr, kHookSuccess_},
      {"run-on-fail-temp", required_argument, nullptr, kHookTemp_},
      {"run-on-fail-env", required_argument, nullptr, kHookEnv_},
      {"run-on-fail-args", required_argument, nullptr, kHookArgs_},
      {"run-on-fail-perm", required_argument, nullptr, kHookPerm_},
      {"run-on-failure", required_argument, nullptr, kHookFailure},
      {"allow-missing-cpu-features", no_argument, nullptr, kAllowCpu},
      {"allow-changed-files", no_argument, nullptr, kAllowChangedFiles},
      {"tcp-established", no_argument, nullptr, kTcpEstablished},
      // Used by libcr's cr_request_restart() only (docs/libcr.md).
      {"early-signal", required_argument, nullptr, kEarlySignal},
      {"libcr-restart-handle-fd", required_argument, nullptr, kHandleFd}, {nullptr, 0, nullptr, 0}};
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; ++i) {
    if (strncmp(argv[i], "--libcr-restart-handle-fd", 25) == 0) {
      // Known before anything can fail, so that a failure is reported on the handle.
      const char* value = argv[i][25] == '=' ? argv[i] + 26 : (argv[i][25] == '\0' && i + 1 < argc ? argv[i + 1] : "");
      char* end;
      long fd = strtol(value, &end, 10);
      if (*value && !*end && fd >= 0 && fd <= INT32_MAX) o.handle_fd = static_cast<int>(fd);
      o.quiet = true;
    }
    if (strcmp(argv[i], "-?") == 0 && o.handle_fd < 0) { usage(stdout); return 0; }
  }
  opterr = 0;  // reported below, after the args hook
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
        if (*optarg == '\0' || *end || v < 0 || v > INT32_MAX) return usage_error("--fd '%s' is not a descriptor number", optarg);
        o.fd = static_cast<int>(v); ++sources; break;
      }
      case 'd': o.dir = optarg; ++sources; break;
      case kNoRestorePid: o.restore_pid = false; break;
      case kRestorePid: o.restore_pid = true; break;
      case kRestorePgid: o.restore_pgid = true; break;
      case kNoRestorePgid: o.restore_pgid = false; break;
      case kRestoreSid: o.restore_sid = true; break;
      case kNoRestoreSid: o.restore_sid = false; break;
      case kRelocate: {
        auto r = parse_relocation(optarg);
        if (!r) return fail(EINVAL, kHookArgs, "%s", r.error().message().c_str());
        if (r->first == r->second) break;
        if (o.relocations.size() == 16) return fail(EINVAL, kHookArgs, "at most 16 --relocate options");
        o.relocations.push_back(*r);
        break;
      }
      case kAllowCpu: o.allow_missing_cpu_features = true; break;
      case kAllowChangedFiles: o.allow_changed_files = true; break;
      case kTcpEstablished: o.tcp_established = true; break;
      case kRun: o.signal = 0; o.early_signal = 0; break;
      case 'S': {
        char* end;
        long v = strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end || v < 1 || v >= NSIG) return fail(EINVAL, kHookArgs, "invalid signal '%s'", optarg);
        o.signal = static_cast<int>(v); o.early_signal = 0; break;
      }
      // One signal option wins (BLCR keeps a single cr_signal, negative for "early").
      case kStop: o.signal = SIGSTOP; o.early_signal = 0; break;
      case kTerm: o.signal = SIGTERM; o.early_signal = 0; break;
      case kAbort: o.signal = SIGABRT; o.early_signal = 0; break;
      case kKill: o.signal = SIGKILL; o.early_signal = 0; break;
      case kCont: o.signal = SIGCONT; o.early_signal = 0; break;
      case kEarlyStop: o.early_signal = SIGSTOP; o.signal = 0; break;
      case kEarlySignal: {
        char* end;
        long v = strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end || v < 1 || v >= NSIG) return fail(EINVAL, kHookArgs, "invalid signal '%s'", optarg);
        o.early_signal = static_cast<int>(v); o.signal = 0; break;
      }
      case kHandleFd: break;  // taken before parsing
      case kEarlyAbrt: o.early_signal = SIGABRT; o.signal = 0; break;
      case kOmitMaybe: o.omit = Omit::Maybe; break;
      case kOmitAlways: o.omit = Omit::Always; break;
      case kOmitNever: o.omit = Omit::Never; break;
      case kTrustImageIds: o.trust_image_ids = true; break;
      case kKmsgNone: o.kmsg = Kmsg::None; break;
      case kKmsgError: o.kmsg = Kmsg::Error; break;
      case kKmsgWarning: o.kmsg = Kmsg::Warning; break;
      case kHookSuccess_: o.hooks[kHookSuccess] = optarg; break;
      case kHookTemp_: o.hooks[kHookTemp] = optarg; break;
      case kHookEnv_: o.hooks[kHookEnv] = optarg; break;
      case kHookArgs_: o.hooks[kHookArgs] = optarg; break;
      case kHookPerm_: o.hooks[kHookPerm] = optarg; break;
      case kHookFailure: o.hooks[kHookTemp] = o.hooks[kHookEnv] = o.hooks[kHookArgs] = o.hooks[kHookPerm] = optarg; break;
      default: return usage_error("unknown option or missing argument: '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc && sources == 0) {
    o.file = argv[optind++];
    ++sources;
  }
  // BLCR: two of -f, -F, -d are invalid arguments (EINVAL); no image at all, or a file
  // name besides one of them, is a usage error.
  if (sources > 1) return fail(EINVAL, kHookArgs, "give only one of -f FILE, -F FD and -d DIR");
  if (optind < argc || sources != 1) return usage_error("%s", "give exactly one image (FILE, -f FILE, -F FD or -d DIR)");
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
        sig == SIGFPE || (sig >= 32 && sig < SIGRTMIN) || (sig == SIGRTMAX && g_libcr.init))
      continue;  // (SIGRTMAX is libcr's CR_SIGNUM)
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

// The descriptors we were started with, before we open anything of our own (but `skip`).
std::vector<int> inherited_fds(std::initializer_list<int> skip) {
  std::vector<int> out;
  if (DIR* d = opendir("/proc/self/fd")) {
    int self = dirfd(d);
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      int fd = atoi(e->d_name);
      if (fd != self && std::find(skip.begin(), skip.end(), fd) == skip.end()) out.push_back(fd);
    }
    closedir(d);
  }
  return out;
}

// The owner of a directory image (-d DIR) for the trust rule (docs/design.md "Trust"):
// the user owning its context.* files; root's only if every file is root's. Files of two
// different users are refused.
Result<std::pair<uid_t, gid_t>> directory_image_owner(const std::string& dir) {
  std::pair<uid_t, gid_t> owner{0, 0};
  DIR* d = opendir(dir.c_str());
  if (!d) return Error::os(format("opendir %s", dir.c_str()));
  while (dirent* e = readdir(d)) {
    if (strncmp(e->d_name, "context.", 8) != 0) continue;
    struct stat st {};
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_uid == 0) continue;
    if (owner.first != 0 && owner.first != st.st_uid) {
      closedir(d);
      return Error::os(format("%s holds images of two users (uid %u and %u)", dir.c_str(), (unsigned)owner.first,
                              (unsigned)st.st_uid), EPERM);
    }
    owner = {st.st_uid, st.st_gid};
  }
  closedir(d);
  return owner;
}

// What both ways of restarting (by hand, and serving cr_request_restart()) ask of the
// engine, from the parsed options.
RestoreOptions restore_options(const Options& o, int in, const std::string& name, const std::vector<int>& inherited) {
  RestoreOptions ropt;
  ropt.in_fd = in;
  ropt.image_name = name;
  ropt.restore_pid = o.restore_pid;
  ropt.restore_pgid = o.restore_pgid;
  ropt.restore_sid = o.restore_sid;
  ropt.relocations = o.relocations;
  ropt.allow_missing_cpu_features = o.allow_missing_cpu_features;
  ropt.allow_changed_files = o.allow_changed_files;
  ropt.tcp_established = o.tcp_established;
  ropt.after_signal = o.signal;
  ropt.early_signal = o.early_signal;
  ropt.inherited_fds = inherited;
  ropt.trust_image_ids = o.trust_image_ids;
  return ropt;
}

// Serving libcr's cr_request_restart(): the restored top-level processes become the
// caller's children (we are its child), the answer goes to the handle (kAccepted, then
// kFinished with the leader's pid), nothing to stderr, and we exit once they run.
int serve_restart(const Options& o) {
  using namespace libcr_proto;
  signal(SIGPIPE, SIG_IGN);
  fcntl(o.handle_fd, F_SETFD, FD_CLOEXEC);
  if (o.handle_fd != 2 && o.fd != 2) {
    Fd null(open("/dev/null", O_WRONLY | O_CLOEXEC));
    if (null.valid()) dup2(null.get(), 2);
  }
  std::vector<int> inherited = inherited_fds({o.handle_fd, o.fd});
  Fd owned;
  int in = o.fd;
  std::string name = format("fd %d", o.fd);
  if (!o.file.empty()) {
    owned = Fd(open(o.file.c_str(), O_RDONLY | O_CLOEXEC));
    in = owned.get();
    name = o.file;
  }
  if (!o.dir.empty() || in < 0 || fcntl(in, F_GETFD) < 0) {
    int err = !o.dir.empty() ? EINVAL : o.file.empty() ? EBADF : errno;
    send_handle(o.handle_fd, kAccepted, err, "", 0);
    send_handle(o.handle_fd, kFinished, err, format("cannot read the image %s\n", name.c_str()), 0);
    return err & 0xff;
  }
  fcntl(in, F_SETFD, FD_CLOEXEC);
  send_handle(o.handle_fd, kAccepted, 0, "", 0);
  RestoreOptions ropt = restore_options(o, in, name, inherited);
  ropt.as_callers_child = true;
  auto pid = restore_process(ropt);
  int err = 0;
  std::string log;
  if (!pid) {
    err = pid.error().error_number();
    if (err == 0) err = EIO;
    log = pid.error().message() + "\n";
  }
  send_handle(o.handle_fd, kFinished, err, log, pid ? *pid : 0);
  close(o.handle_fd);
  return err & 0xff;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  g_options = &o;
  int early = parse(argc, argv, o);
  if (o.handle_fd >= 0) {
    if (early < 0) return serve_restart(o);
    signal(SIGPIPE, SIG_IGN);
    refuse_request(o.handle_fd);
    return early;
  }
  if (early >= 0) return early;
  g_omit = o.omit;

  // The descriptors we were started with, before we open anything of our own.
  std::vector<int> inherited = inherited_fds({o.fd});

  // An image that cannot be read is an argument error (BLCR's HOOK_FAIL_ARGS).
  Fd owned;
  Fd joined_write;
  std::thread joiner;
  std::optional<Result<void>> joined;
  std::string source_path;
  int in = o.fd;
  std::string name = format("fd %d", o.fd);
  if (!o.file.empty()) {
    struct stat st {};
    if (stat(o.file.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      return fail(EISDIR, kHookArgs, "%s is a directory, not an image", o.file.c_str());
    owned = Fd(open(o.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned.valid()) {
      int e = errno;
      return fail(e & 0xff, kHookArgs, "cannot open image %s: %s", o.file.c_str(), strerror(e));
    }
    in = owned.get();
    name = o.file;
  } else if (!o.dir.empty()) {
    // -d DIR: DIR/context.PID files, joined back into one stream by a second thread.
    struct stat st {};
    if (stat(o.dir.c_str(), &st) != 0) {
      int e = errno;
      return fail(e & 0xff, kHookArgs, "cannot use the directory %s: %s", o.dir.c_str(), strerror(e));
    }
    if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR, kHookArgs, "%s is not a directory", o.dir.c_str());
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) return fail(errno & 0xff, kHookTemp, "pipe2: %s", strerror(errno));
    owned = Fd(ends[0]);
    joined_write = Fd(ends[1]);
    signal(SIGPIPE, SIG_IGN);  // the restore may stop reading early: the joiner gets EPIPE
    joiner = std::thread([&] {
      joined.emplace(join_image(o.dir, joined_write.get()));
      joined_write.reset();
    });
    in = owned.get();
    name = o.dir;
    char real[PATH_MAX];
    if (realpath(o.dir.c_str(), real)) source_path = strcmp(real, "/") == 0 ? "/." : std::string(real) + "/.";
  } else if (fcntl(in, F_GETFD) < 0) {
    return fail(EBADF, kHookArgs, "--fd %d is not an open descriptor", in);
  } else {
    fcntl(in, F_SETFD, FD_CLOEXEC);
  }

  // Before anything of the restore exists; the callback waits for the lock.
  pthread_mutex_lock(&g_restart_lock);
  load_libcr();

  ProgressLine progress("cr_restart", "read");
  struct stat image_stat {};
  if (fstat(in, &image_stat) == 0 && S_ISREG(image_stat.st_mode)) progress.set_total(image_stat.st_size);
  RestoreOptions ropt = restore_options(o, in, name, inherited);
  ropt.source_path = source_path;
  if (!o.dir.empty()) {
    auto owner = directory_image_owner(o.dir);
    if (!owner) return fail(exit_code_for(owner.error()), kHookEnv, "restart failed: %s", owner.error().message().c_str());
    ropt.image_owner = *owner;
  }
  ropt.progress = [&](uint64_t b) { progress.update(b); };
  WarningCapture warnings("cr_restart", o.quiet);
  auto pid = restore_process(ropt);
  warnings.stop();
  progress.finish();
  if (pid)
    print_warnings("cr_restart", warnings.lines(), o.kmsg, false, o.quiet);
  else  // after the failure hook (which may end cr_restart silently), before the message
    g_failure_log = [&] { print_warnings("cr_restart", warnings.lines(), o.kmsg, true, o.quiet); };
  if (joiner.joinable()) {
    owned.reset();  // a joiner still writing gets EPIPE
    joiner.join();
    signal(SIGPIPE, SIG_DFL);
    if (!pid && joined && !*joined) {
      // The files are the problem, not the stream the restore saw end early.
      const Error& e = (*joined).error();
      return fail(exit_code_for(e), e.kind() == ErrorKind::Os ? kHookArgs : hook_for_errno(e.error_number()),
                  "restart failed: %s", e.message().c_str());
    }
  }
  if (!pid) {
    const Error& e = pid.error();
    return fail(exit_code_for(e), hook_for_errno(e.error_number()), "restart failed: %s", e.message().c_str());
  }
  owned.reset();
  g_restored = *pid;
  pthread_mutex_unlock(&g_restart_lock);
  // BLCR: a failing success hook ends cr_restart at once with its code; the restarted
  // processes run on.
  if (int hv = run_hook(o, kHookSuccess)) return hv;
  supervise(*pid);
}
