// cr_checkpoint: BLCR's tool. Writes the image of a process to a file (atomically by
// default), to an fd, or to context.PID in the current directory.
//
// It also serves libcr's cr_request_checkpoint(): started with --libcr-handle-fd=H it
// reports on H as protocol.h's HandleMsg (kAccepted, then kFinished and the log) and
// prints nothing on stderr.
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "checkpoint/checkpointer.h"
#include "image_dir.h"
#include "libcr/protocol.h"
#include "sys/io.h"
#include "tool_common.h"

using namespace crest;

namespace {

volatile sig_atomic_t g_timed_out = 0;
void on_alarm(int) { g_timed_out = 1; }

// SIGTERM, SIGINT, SIGHUP or SIGQUIT (a batch system, Ctrl-C, a timeout): the engine sees
// it as a cancellation at its next safe point and unwinds, which detaches every target
// as it was and removes the temporary image; then we die of the same signal.
volatile sig_atomic_t g_interrupted = 0;
void on_terminate(int sig) { g_interrupted = sig; }

void catch_termination() {
  struct sigaction sa {};
  sa.sa_handler = on_terminate;  // no SA_RESTART: a blocked write or wait returns EINTR
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);
}

[[noreturn]] void die_of(int sig) {
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  raise(sig);
  _exit(128 + sig);
}

// BLCR's structure when the process that ran cr_checkpoint is in the scope (a script or
// program checkpointing itself): cr_checkpoint forks, and this process only waits for
// the worker and exits with its status. It is checkpointed with its caller, blocked in
// wait4(); in a restarted copy wait4() fails with ECHILD and it exits 0, so the restarted
// caller finds its child and a success (BLCR-API.md 3.2). The worker leaves itself out.
pid_t g_worker = 0;
pid_t g_waiter = 0;  // in the worker: the waiting parent

void forward_to_worker(int sig) {
  int saved = errno;
  if (g_worker > 0) kill(g_worker, sig);
  errno = saved;
}

[[noreturn]] void wait_for_worker(pid_t worker) {
  g_worker = worker;
  struct sigaction sa {};
  sa.sa_handler = forward_to_worker;
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);
  int status = 0;
  pid_t got;
  while ((got = waitpid(worker, &status, 0)) < 0 && errno == EINTR) {
  }
  if (got < 0) _exit(0);  // ECHILD: the restarted copy
  if (WIFSIGNALED(status)) die_of(WTERMSIG(status));
  _exit(WEXITSTATUS(status));
}

enum class Dest { Cwd, File, Fd, Dir };
enum class Mode { Atomic, Backup, Clobber, NoClobber };

// Set while parsing when serving a libcr request: nothing goes to stderr then.
bool g_serving = false;

struct Options {
  pid_t pid = 0;
  Dest dest = Dest::Cwd;
  int dest_count = 0;
  std::string file;
  std::string dir;  // -d: one image per process in it
  int fd = -1;
  Mode mode = Mode::Atomic;
  std::string backup_name;
  AfterCheckpoint after = AfterCheckpoint::Run;
  int signal = 0;
  bool sync = true;
  Scope scope = Scope::Tree;
  TracePolicy trace;
  bool skip_unsupported = false;
  bool tcp_established = false;
  Compression compression;
  unsigned timeout = 0;
  int verbose = 0;
  bool quiet = false;
  int early_signal = 0;                  // --early-stop, --early-abrt, --early-signal
  bool require_libcr = false;            // crest's --require-libcr (CR_CHKPT_REQUIRE_LIBCR)
  bool prohibit_self = false;            // crest's --prohibit-self (CR_CHKPT_PROHIBIT_SELF)
  bool save_exe = false, save_private = false, save_shared = false;
  bool allow_init = false;               // crest's --allow-init
  Kmsg kmsg = Kmsg::Error;
  // Serving a libcr request (cr_request_checkpoint() started us).
  int handle_fd = -1;
  pid_t requester_tid = 0;
  int request_target = 0;
  bool async_err = false;
  ProgressStyle progress;                // --progress=WHEN
};

// Messages of the tool itself (never while serving a libcr request).
__attribute__((format(printf, 1, 2))) void say(const char* fmt, ...) {
  if (g_serving) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("cr_checkpoint: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void usage(FILE* out) {
  if (g_serving) return;
  fprintf(out,
          "Usage: cr_checkpoint [options] ID\n"
          "Checkpoint the process ID (crest %s).\n\n"
          "Scope:\n"
          "  -T, --tree            ID and all its descendants (default)\n"
          "  -p, --pid, --process  ID is a single process\n"
          "  -g, --pgid, --group   ID is a process group: all its processes\n"
          "  -s, --sid, --session  ID is a session: all its processes\n"
          "Destination:\n"
          "  -c, --cwd             write context.ID in the current directory (default)\n"
          "  -f, --file FILE       write FILE\n"
          "  -F, --fd FD           write to the open descriptor FD (a pipe works)\n"
          "  -d, --dir DIR         write one image per process, DIR/context.PID (cr_restart -d DIR reads them)\n"
          "  --atomic              write a temporary file, rename it over FILE on success (default)\n"
          "  --backup[=NAME]       atomic; an existing FILE is first renamed to NAME or FILE.~N~\n"
          "  --clobber             write FILE in place (a failure loses the old file)\n"
          "  --noclobber           fail with EEXIST if FILE exists\n"
          "  --sync, --nosync      fsync the file and its directory (default --sync)\n"
          "After the checkpoint:\n"
          "  --run                 let the process run on (default)\n"
          "  -S, --signal NUM      send signal NUM\n"
          "  --stop, --term, --abort, --kill, --cont\n"
          "                        send SIGSTOP, SIGTERM, SIGABRT, SIGKILL, SIGCONT\n"
          "Saved contents:\n"
          "  --save-exe            save the executable's contents in the image\n"
          "  --save-private        save the contents of private file mappings (libraries, exe)\n"
          "  --save-shared         save the contents of shared file mappings\n"
          "  --save-all            all three; --save-none (default) clears earlier --save-*\n"
          "                        (a restart then works after those files are deleted or changed)\n"
          "Messages:\n"
          "  --kmsg-none           never show the checkpoint's warnings\n"
          "  --kmsg-error          list them (each prefixed \"- \") if the checkpoint fails, else show\n"
          "                        them as plain warnings (default)\n"
          "  --kmsg-warning        always list them\n"
          "  --progress=WHEN       how far the checkpoint got, on stderr: tty (one live line with a\n"
          "                        percentage; the default on a terminal), lines[:SECONDS] (a plain\n"
          "                        line every SECONDS, default 10; the default elsewhere) or none;\n"
          "                        then a summary (size, time, throughput) if any was shown\n"
          "Other:\n"
          "  -t, --time SEC        give up after SEC seconds, leaving the process running\n"
          "  --compress=CODEC      compress memory pages: zstd, zstd:LEVEL or lz4 (cr_restart needs no option)\n"
          "  --skip-unsupported    leave out descriptors crest cannot restore (a TCP socket, say)\n"
          "                        instead of failing; they are closed in the restarted process\n"
          "  --tcp-established     save established TCP connections to peers outside the checkpoint\n"
          "                        (root: TCP_REPAIR); cr_restart needs it too. The peer must not\n"
          "                        reset them: restart before it times out, on the same address\n"
          "  --require-libcr       fail (exit 52) if a process of the scope has no libcr (crest's)\n"
          "  --prohibit-self       fail (EDEADLK) if the requesting process is in the scope (crest's;\n"
          "                        for libcr requests: cr_checkpoint itself is never checkpointed)\n"
          "  --allow-init          let the scope hold process 1, the init of cr_checkpoint's own pid\n"
          "                        namespace (crest's). Risk: while it is frozen, everything that waits\n"
          "                        for it (services, logins, reaping) hangs. An after-action that would\n"
          "                        kill or stop it is still refused\n"
          "  -v, --verbose         more messages on stderr\n"
          "  -q, --quiet           no messages on stderr\n"
          "  -h, -?, --help        this help\n"
          "  --version             print the version\n"
          "  --ptraced-error        fail (exit 56) if a process is traced by another (default)\n"
          "  --ptraced-skip         leave traced processes out\n"
          "  --ptraced-allow        as --ptraced-error: a process has only one tracer\n"
          "  --ptracer-error        fail (exit 57) if a process traces another (default)\n"
          "  --ptracer-skip         leave tracing processes out\n"
          "\nRefused (exit 125, ECANCELED), before anything is frozen or signalled: a scope holding a\n"
          "kernel thread; one holding process 1 (without --allow-init); and, with an after-action\n"
          "that kills or stops (--kill, --term, --stop, --abort, --signal N but SIGCONT, SIGCHLD,\n"
          "SIGURG, SIGWINCH), one holding an ancestor of cr_checkpoint (its shell), unless the parent\n"
          "names itself as ID with --tree or --pid (a script ending itself: --kill --tree $$).\n"
          "The default --run checkpoints one's own shell (cr_checkpoint --tree $$) and lets it run on.\n",
          CREST_VERSION);
}

enum LongOnly {
  kAtomic = 1000, kBackup, kClobber, kNoClobber, kRun, kStop, kTerm, kAbort, kKill, kCont, kSync, kNoSync,
  kVersion, kSkipUnsupported, kTcpEstablished, kCompress, kPtracedError, kPtracedSkip, kPtracedAllow, kPtracerError, kPtracerSkip,
  kSaveExe, kSavePrivate, kSaveShared, kSaveAll, kSaveNone, kKmsgNone, kKmsgError, kKmsgWarning, kEarlyStop,
  kEarlyAbrt, kEarlySignal, kRequireLibcr, kProhibitSelf, kAllowInit, kHandleFd, kRequester, kTarget, kAsyncErr,
  kProgress,
};

bool parse_int(const char* text, long lo, long hi, long& out) {
  char* end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (*text == '\0' || *end || errno || v < lo || v > hi) return false;
  out = v;
  return true;
}

int parse(int argc, char** argv, Options& o) {
  static const option longopts[] = {
      {"verbose", no_argument, nullptr, 'v'}, {"quiet", no_argument, nullptr, 'q'},
      {"help", no_argument, nullptr, 'h'}, {"version", no_argument, nullptr, kVersion},
      {"tree", no_argument, nullptr, 'T'}, {"pid", no_argument, nullptr, 'p'},
      {"process", no_argument, nullptr, 'p'}, {"pgid", no_argument, nullptr, 'g'},
      {"group", no_argument, nullptr, 'g'}, {"sid", no_argument, nullptr, 's'},
      {"session", no_argument, nullptr, 's'}, {"cwd", no_argument, nullptr, 'c'},
      {"file", required_argument, nullptr, 'f'}, {"fd", required_argument, nullptr, 'F'},
      {"dir", required_argument, nullptr, 'd'}, {"atomic", no_argument, nullptr, kAtomic},
      {"backup", optional_argument, nullptr, kBackup}, {"clobber", no_argument, nullptr, kClobber},
      {"noclobber", no_argument, nullptr, kNoClobber}, {"run", no_argument, nullptr, kRun},
      {"signal", required_argument, nullptr, 'S'}, {"stop", no_argument, nullptr, kStop},
      {"term", no_argument, nullptr, kTerm}, {"abort", no_argument, nullptr, kAbort},
      {"kill", no_argument, nullptr, kKill}, {"cont", no_argument, nullptr, kCont},
      {"sync", no_argument, nullptr, kSync}, {"nosync", no_argument, nullptr, kNoSync},
      {"time", required_argument, nullptr, 't'}, {"skip-unsupported", no_argument, nullptr, kSkipUnsupported},
      {"tcp-established", no_argument, nullptr, kTcpEstablished},
      {"compress", required_argument, nullptr, kCompress},
      {"save-exe", no_argument, nullptr, kSaveExe}, {"save-private", no_argument, nullptr, kSavePrivate},
      {"save-shared", no_argument, nullptr, kSaveShared}, {"save-all", no_argument, nullptr, kSaveAll},
      {"save-none", no_argument, nullptr, kSaveNone}, {"ptraced-error", no_argument, nullptr, kPtracedError},
      {"ptraced-skip", no_argument, nullptr, kPtracedSkip}, {"ptraced-allow", no_argument, nullptr, kPtracedAllow},
      {"ptracer-error", no_argument, nullptr, kPtracerError}, {"ptracer-skip", no_argument, nullptr, kPtracerSkip},
      {"kmsg-none", no_argument, nullptr, kKmsgNone}, {"kmsg-error", no_argument, nullptr, kKmsgError},
      {"kmsg-warning", no_argument, nullptr, kKmsgWarning}, {"progress", required_argument, nullptr, kProgress},
      // Hidden, as in BLCR: the "early" (negative) signals.
      {"early-stop", no_argument, nullptr, kEarlyStop}, {"early-abrt", no_argument, nullptr, kEarlyAbrt},
      // crest's: CR_CHKPT_REQUIRE_LIBCR and CR_CHKPT_PROHIBIT_SELF as options.
      {"require-libcr", no_argument, nullptr, kRequireLibcr}, {"prohibit-self", no_argument, nullptr, kProhibitSelf},
      {"allow-init", no_argument, nullptr, kAllowInit},
      // Used by libcr's cr_request_checkpoint() only (docs/libcr.md).
      {"early-signal", required_argument, nullptr, kEarlySignal},
      {"libcr-handle-fd", required_argument, nullptr, kHandleFd},
      {"libcr-requester", required_argument, nullptr, kRequester},
      {"libcr-target", required_argument, nullptr, kTarget},
      {"async-err", no_argument, nullptr, kAsyncErr}, {nullptr, 0, nullptr, 0}};
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; ++i) {
    if (strncmp(argv[i], "--libcr-handle-fd", 17) == 0) {
      // Known before anything can fail, so that a failure is reported on the handle.
      g_serving = true;
      const char* value = argv[i][17] == '=' ? argv[i] + 18 : (argv[i][17] == '\0' && i + 1 < argc ? argv[i + 1] : "");
      long fd;
      if (parse_int(value, 0, INT32_MAX, fd)) o.handle_fd = static_cast<int>(fd);
    }
    if (strcmp(argv[i], "-?") == 0 && !g_serving) { usage(stdout); return 0; }
  }
  if (g_serving) {
    opterr = 0;
    o.quiet = true;
  }
  int c;
  long v;
  while ((c = getopt_long(argc, argv, "vqhTpgscf:F:d:S:t:", longopts, nullptr)) != -1) {
    switch (c) {
      case 'v': ++o.verbose; break;
      case 'q': o.quiet = true; break;
      case 'h': usage(stdout); return 0;
      case kVersion: printf("cr_checkpoint version %s (crest)\n", CREST_VERSION); return 0;
      case kProgress: {
        auto style = parse_progress(optarg);
        if (!style) { say("%s", style.error().message().c_str()); return kExitUsage; }
        o.progress = *style;
        break;
      }
      case 'T': o.scope = Scope::Tree; break;
      case 'p': o.scope = Scope::Process; break;
      case 'g': o.scope = Scope::ProcessGroup; break;
      case 's': o.scope = Scope::Session; break;
      case 'c': o.dest = Dest::Cwd; ++o.dest_count; break;
      case 'f': o.dest = Dest::File; o.file = optarg; ++o.dest_count; break;
      case 'F':
        if (!parse_int(optarg, 0, INT32_MAX, v)) { say("--fd '%s' is not a descriptor number", optarg); return kExitUsage; }
        o.dest = Dest::Fd; o.fd = static_cast<int>(v); ++o.dest_count; break;
      case 'd': o.dest = Dest::Dir; o.dir = optarg; ++o.dest_count; break;
      case kAtomic: o.mode = Mode::Atomic; break;
      case kBackup: o.mode = Mode::Backup; o.backup_name = optarg ? optarg : ""; break;
      case kClobber: o.mode = Mode::Clobber; break;
      case kNoClobber: o.mode = Mode::NoClobber; break;
      case kRun: o.after = AfterCheckpoint::Run; break;
      case 'S':
        if (!parse_int(optarg, 1, NSIG - 1, v)) { if (!o.quiet) say("invalid signal '%s'", optarg); return EINVAL; }
        o.after = AfterCheckpoint::Signal; o.signal = static_cast<int>(v); break;
      case kStop: o.after = AfterCheckpoint::Signal; o.signal = SIGSTOP; break;
      case kTerm: o.after = AfterCheckpoint::Signal; o.signal = SIGTERM; break;
      case kAbort: o.after = AfterCheckpoint::Signal; o.signal = SIGABRT; break;
      case kCont: o.after = AfterCheckpoint::Signal; o.signal = SIGCONT; break;
      case kKill: o.after = AfterCheckpoint::Kill; o.signal = SIGKILL; break;
      case kEarlyStop: o.early_signal = SIGSTOP; break;
      case kEarlyAbrt: o.early_signal = SIGABRT; break;
      case kEarlySignal:
        if (!parse_int(optarg, 1, NSIG - 1, v)) { if (!o.quiet) say("invalid signal '%s'", optarg); return EINVAL; }
        o.early_signal = static_cast<int>(v); break;
      case kSync: o.sync = true; break;
      case kNoSync: o.sync = false; break;
      case 't':
        if (!parse_int(optarg, 0, UINT32_MAX, v)) { say("--time '%s' must be a number of seconds >= 0", optarg); return kExitUsage; }
        o.timeout = static_cast<unsigned>(v); break;
      case kPtracedError: o.trace.traced = PtracedPolicy::Error; break;
      case kPtracedSkip: o.trace.traced = PtracedPolicy::Skip; break;
      case kPtracedAllow: o.trace.traced = PtracedPolicy::Allow; break;
      case kPtracerError: o.trace.tracer = PtracerPolicy::Error; break;
      case kPtracerSkip: o.trace.tracer = PtracerPolicy::Skip; break;
      case kSkipUnsupported: o.skip_unsupported = true; break;
      case kTcpEstablished: o.tcp_established = true; break;
      case kCompress: {
        auto c = parse_compression(optarg);
        if (!c) { say("%s", c.error().message().c_str()); return kExitUsage; }
        o.compression = *c;
        break;
      }
      // Additive left to right; --save-none clears (BLCR's CR_CHKPT_DUMP_* flags).
      case kSaveExe: o.save_exe = true; break;
      case kSavePrivate: o.save_private = true; break;
      case kSaveShared: o.save_shared = true; break;
      case kSaveAll: o.save_exe = o.save_private = o.save_shared = true; break;
      case kSaveNone: o.save_exe = o.save_private = o.save_shared = false; break;
      case kKmsgNone: o.kmsg = Kmsg::None; break;
      case kKmsgError: o.kmsg = Kmsg::Error; break;
      case kKmsgWarning: o.kmsg = Kmsg::Warning; break;
      case kRequireLibcr: o.require_libcr = true; break;
      case kProhibitSelf: o.prohibit_self = true; break;
      case kAllowInit: o.allow_init = true; break;
      case kHandleFd:
        if (!parse_int(optarg, 0, INT32_MAX, v)) return kExitUsage;
        o.handle_fd = static_cast<int>(v); break;
      case kRequester:
        if (!parse_int(optarg, 1, INT32_MAX, v)) return EINVAL;
        o.requester_tid = static_cast<pid_t>(v); break;
      case kTarget:
        if (!parse_int(optarg, 0, INT32_MAX, v)) return EINVAL;
        o.request_target = static_cast<int>(v); break;
      case kAsyncErr: o.async_err = true; break;
      default: usage(stderr); return kExitUsage;
    }
  }
  if (optind + 1 != argc) {
    if (!o.quiet) say("exactly one process ID is required");
    usage(stderr);
    return kExitUsage;
  }
  if (!parse_int(argv[optind], 1, INT32_MAX, v)) {
    if (!o.quiet) say("'%s' is not a process ID", argv[optind]);
    return kExitUsage;
  }
  o.pid = static_cast<pid_t>(v);
  if (o.dest_count > 1) {
    if (!o.quiet) say("give only one destination (-f, -F, -c or -d)");
    return EINVAL;
  }
  return -1;
}

std::string dir_of(const std::string& path) {
  std::string copy = path;
  return dirname(copy.data());
}
std::string base_of(const std::string& path) {
  std::string copy = path;
  return basename(copy.data());
}

void sync_dir(const std::string& path) {
  Fd d(open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.valid()) fsync(d.get());
}

// cr_checkpoint_info.dest of an open descriptor: its canonical path, "DIR/." for a
// directory, "" when it is not in the file system (pipe, socket, anonymous inode).
std::string fd_dest(int fd) {
  auto link = read_link(format("/proc/self/fd/%d", fd));
  if (!link || link->empty() || (*link)[0] != '/') return "";
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) return *link == "/" ? "/." : *link + "/.";
  return *link;
}

// The canonical path a file will have once written (it need not exist yet).
std::string path_dest(const std::string& path) {
  char buf[PATH_MAX];
  if (!realpath(dir_of(path).c_str(), buf)) return path;
  std::string dir = buf;
  return (dir == "/" ? "" : dir) + "/" + base_of(path);
}

// The thread-group id of a thread (the requesting process of a libcr request).
pid_t tgid_of(pid_t tid) {
  auto text = read_text_file(format("/proc/%d/status", tid));
  if (!text) return tid;
  size_t at = text->find("\nTgid:");
  if (at == std::string::npos) return tid;
  return static_cast<pid_t>(strtol(text->c_str() + at + 6, nullptr, 10));
}

// A served request's warnings and errors, one per line: what cr_log_checkpoint() returns
// (at most 60 KiB; later lines are left out).
class CheckpointLog {
 public:
  static constexpr size_t kCap = 60 * 1024;
  void add(const std::string& line) {
    if (text_.size() + line.size() + 1 > kCap) return;
    text_ += line;
    text_ += '\n';
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

void start_time_limit(unsigned seconds) {
  if (!seconds) return;
  struct sigaction sa {};
  sa.sa_handler = on_alarm;  // no SA_RESTART: a blocked write or wait returns EINTR
  sigaction(SIGALRM, &sa, nullptr);
  alarm(seconds);
}

// The engine's options common to both modes; `log` (serving a request) collects the
// warnings. (Run by hand, they are taken from stderr: WarningCapture.)
CheckpointOptions engine_options(const Options& o, CheckpointLog* log) {
  CheckpointOptions copt;
  copt.pid = o.pid;
  copt.scope = o.scope;
  copt.trace_policy = o.trace;
  copt.skip_unsupported = o.skip_unsupported;
  copt.tcp_established = o.tcp_established;
  copt.compression = o.compression;
  copt.after = o.after;
  copt.after_signal = o.signal;
  copt.early_signal = o.early_signal;
  copt.require_libcr = o.require_libcr;
  copt.prohibit_self = o.prohibit_self;
  copt.save_exe = o.save_exe;
  copt.save_private = o.save_private;
  copt.save_shared = o.save_shared;
  copt.allow_init = o.allow_init;
  copt.cancelled = [] { return g_timed_out != 0 || g_interrupted != 0; };
  if (log) copt.log = [log](const std::string& line) { log->add(line); };
  return copt;
}

// -v: what was written, and how long the job was frozen and for what.
void print_stats(const std::string& what, const CheckpointStats& s) {
  auto ms = [](uint64_t ns) { return ns / 1e6; };
  fprintf(stderr, "cr_checkpoint: %s%llu bytes, %llu pages\n", what.c_str(), (unsigned long long)s.image_bytes,
          (unsigned long long)s.pages);
  fprintf(stderr,
          "cr_checkpoint: frozen %.1f ms (stopping %.1f ms, metadata %.1f ms, pages %.1f ms, the rest until the "
          "last process resumed)\n",
          ms(s.frozen_ns), ms(s.stop_ns), ms(s.metadata_ns), ms(s.pages_ns));
}

// One image per process in `dir`: the engine writes one stream into a pipe; a second
// thread splits it into DIR/context.PID files (tools/image_dir.h), renamed into place
// once all are written.
Result<CheckpointStats> checkpoint_into_dir(CheckpointOptions& copt, const std::string& dir, bool sync, Mode mode) {
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0) return Error::os("pipe2");
  Fd read_end(ends[0]), write_end(ends[1]);
  signal(SIGPIPE, SIG_IGN);  // a failed split closes its end: the engine gets EPIPE
  std::optional<Result<std::vector<pid_t>>> split;
  std::thread splitter([&] {
    split.emplace(split_image(read_end.get(), dir, sync));
    read_end.reset();
  });
  copt.out_fd = write_end.get();
  auto stats = checkpoint_process(copt);
  write_end.reset();  // EOF for the splitter, whatever the engine wrote
  splitter.join();
  // A failed split is the cause when both failed: it closed the pipe, and the engine's
  // write then failed with EPIPE (a full disk must say ENOSPC, exit 28).
  if (!*split) return split->error().context(format("writing the images in %s", dir.c_str()));
  if (!stats) {
    discard_split(dir, **split);
    return stats.error();
  }
  CR_TRY(commit_split(dir, **split, mode == Mode::NoClobber, mode == Mode::Backup));
  if (sync) {
    Fd d(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.valid()) fsync(d.get());
  }
  return stats;
}

// -d DIR.
Result<int> run_dir(const Options& o, CheckpointOptions& copt, ProgressLine& progress) {
  struct stat st {};
  if (stat(o.dir.c_str(), &st) != 0) return Error::os(format("cannot use the directory %s", o.dir.c_str()));
  if (!S_ISDIR(st.st_mode)) return Error::os(format("%s is not a directory", o.dir.c_str()), ENOTDIR);
  if (o.mode == Mode::NoClobber)
    for (pid_t pid : scope_members(o.scope, o.pid)) {
      std::string path = format("%s/context.%d", o.dir.c_str(), pid);
      if (access(path.c_str(), F_OK) == 0) return Error::os(format("%s exists (--noclobber)", path.c_str()), EEXIST);
    }
  char real[PATH_MAX];
  if (realpath(o.dir.c_str(), real)) copt.dest = strcmp(real, "/") == 0 ? "/." : std::string(real) + "/.";
  auto stats = checkpoint_into_dir(copt, o.dir, o.sync, o.mode);
  progress.finish();
  if (!stats) return stats.error();
  progress.summary(stats->image_bytes, "wrote", format("the images in %s", o.dir.c_str()));
  if (o.verbose) print_stats(format("wrote the images in %s: ", o.dir.c_str()), *stats);
  return 0;
}

// None with --quiet, and when the image itself goes to our stderr (-F 2, or -F 1 2>&1):
// a line there would be written into it.
ProgressStyle progress_style(const Options& o) {
  ProgressStyle none;
  none.kind = ProgressStyle::None;
  if (o.quiet) return none;
  struct stat image {}, err {};
  if (o.dest == Dest::Fd && fstat(o.fd, &image) == 0 && fstat(2, &err) == 0 && image.st_dev == err.st_dev &&
      image.st_ino == err.st_ino)
    return none;
  return o.progress;
}

Result<int> run(const Options& o) {
  start_time_limit(o.timeout);
  ProgressLine progress("cr_checkpoint", "written", progress_style(o));
  CheckpointOptions copt = engine_options(o, nullptr);
  copt.progress_total = [&](uint64_t b) { progress.set_total(b); };
  copt.requester = getpid();
  copt.requester_tid = getpid();
  copt.waiter = g_waiter;
  copt.request_target = o.pid;
  copt.progress = [&](uint64_t b) { progress.update(b); };

  if (o.dest == Dest::Fd) {
    if (fcntl(o.fd, F_GETFD) < 0) return Error::os(format("--fd %d is not an open descriptor", o.fd), EBADF);
    copt.out_fd = o.fd;
    copt.dest = fd_dest(o.fd);
    auto stats = CR_TRY(checkpoint_process(copt));
    progress.finish();
    // EINVAL: not a file that can be synced (/dev/null, a pipe, a socket).
    if (o.sync && fsync(o.fd) != 0 && errno != EINVAL && errno != EROFS) return Error::os("fsync of the image");
    progress.summary(stats.image_bytes, "wrote", format("fd %d", o.fd));
    if (o.verbose) print_stats("", stats);
    return 0;
  }

  if (o.dest == Dest::Dir) return run_dir(o, copt, progress);

  std::string path = o.dest == Dest::File ? o.file : format("context.%d", o.pid);
  copt.dest = path_dest(path);
  struct stat st {};
  bool exists = stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return Error::os(format("%s is a directory", path.c_str()), EISDIR);
  if (exists && o.mode == Mode::NoClobber) return Error::os(format("%s exists (--noclobber)", path.c_str()), EEXIST);

  const bool in_place = o.mode == Mode::Clobber || (exists && !S_ISREG(st.st_mode));  // FIFOs, sockets, devices
  std::string write_path = in_place ? path : dir_of(path) + "/." + base_of(path) + ".tmp";
  if (in_place && exists && S_ISREG(st.st_mode) && access(path.c_str(), W_OK) != 0) unlink(path.c_str());
  if (!in_place) unlink(write_path.c_str());
  int flags = O_WRONLY | O_CREAT | O_NOCTTY | O_CLOEXEC | (in_place ? 0 : O_EXCL);
  Fd out(open(write_path.c_str(), flags, 0400));
  if (!out.valid()) return Error::os(format("cannot create %s", write_path.c_str()));
  bool regular = fstat(out.get(), &st) == 0 && S_ISREG(st.st_mode);
  // The image holds the job's whole memory: 0400 whatever mode a clobbered file had,
  // changed before its old contents are cut and the new ones written.
  if (regular && fchmod(out.get(), 0400) != 0) return Error::os(format("chmod 0400 %s", write_path.c_str()));
  if (regular && ftruncate(out.get(), 0) != 0) return Error::os(format("truncating %s", write_path.c_str()));
  auto discard = [&] {
    if (regular) unlink(write_path.c_str());
  };
  copt.out_fd = out.get();
  auto stats = checkpoint_process(copt);
  progress.finish();
  if (!stats) {
    discard();
    return stats.error();
  }
  if (o.sync && regular && fsync(out.get()) != 0) {
    discard();
    return Error::os(format("fsync %s", write_path.c_str()));
  }
  if (close(out.release()) != 0) {
    discard();
    return Error::os(format("close %s", write_path.c_str()));
  }
  if (!in_place) {
    if (o.mode == Mode::Backup && exists) {
      std::string backup = o.backup_name;
      if (backup.empty())
        for (int n = 1;; ++n) {
          backup = format("%s.~%d~", path.c_str(), n);
          if (access(backup.c_str(), F_OK) != 0) break;
        }
      if (rename(path.c_str(), backup.c_str()) != 0) {
        discard();
        return Error::os(format("rename %s to %s", path.c_str(), backup.c_str()));
      }
    }
    if (rename(write_path.c_str(), path.c_str()) != 0) {
      discard();
      return Error::os(format("rename %s to %s", write_path.c_str(), path.c_str()));
    }
  }
  if (o.sync) sync_dir(path);
  progress.summary(stats->image_bytes, "wrote", path);
  if (o.verbose) print_stats(format("wrote %s: ", path.c_str()), *stats);
  return 0;
}

// Serving cr_request_checkpoint(): the answer goes to the handle, nothing to stderr.
int serve(const Options& o) {
  signal(SIGPIPE, SIG_IGN);  // the requester may close its handle at any time
  if (o.handle_fd != 2 && o.fd != 2) {
    Fd null(open("/dev/null", O_WRONLY | O_CLOEXEC));
    if (null.valid()) dup2(null.get(), 2);  // the engine's own warnings are in the log
  }
  using namespace libcr_proto;
  bool accepted = false;
  auto send = [&](HandleMsgType type, int err, const std::string& text) { send_handle(o.handle_fd, type, err, text); };
  start_time_limit(o.timeout);
  CheckpointLog log;
  CheckpointOptions copt = engine_options(o, &log);
  copt.requester = tgid_of(o.requester_tid);
  copt.requester_tid = o.requester_tid;
  copt.request_target = o.request_target;
  copt.out_fd = o.fd;
  copt.accepted = [&] {
    if (accepted) return;
    accepted = true;
    send(kAccepted, 0, "");
  };
  int err = 0;
  if (o.dest != Dest::Fd || fcntl(o.fd, F_GETFD) < 0) {
    err = EINVAL;  // BLCR: an invalid cr_fd is EINVAL
    log.add(format("checkpoint destination fd %d is not an open descriptor", o.fd));
  } else {
    copt.dest = fd_dest(o.fd);
    struct stat st {};
    // A directory as cr_fd (BLCR's half-finished feature): one context.PID per process in it.
    bool dir = fstat(o.fd, &st) == 0 && S_ISDIR(st.st_mode);
    auto stats = dir ? checkpoint_into_dir(copt, format("/proc/self/fd/%d", o.fd), o.sync, Mode::Atomic)
                     : checkpoint_process(copt);
    if (stats && !dir && o.sync && fsync(o.fd) != 0 && errno != EINVAL && errno != EROFS) stats = Error::os("fsync of the image");
    if (!stats) {
      err = g_timed_out ? ETIMEDOUT : stats.error().error_number();
      if (err == 0) err = EIO;
      log.add(g_timed_out ? format("checkpoint gave up after the time limit of %u s", o.timeout) : stats.error().message());
    }
  }
  if (!accepted) send(kAccepted, o.async_err ? 0 : err, "");
  send(kFinished, err, log.text());
  close(o.handle_fd);
  return err ? (err & 0xff ? err & 0xff : 1) : 0;
}

}  // namespace

pid_t ppid_of(pid_t pid) {
  auto text = read_text_file(format("/proc/%d/status", pid));
  if (!text) return 0;
  size_t at = text->find("\nPPid:");
  if (at == std::string::npos) return 0;
  return static_cast<pid_t>(strtol(text->c_str() + at + 6, nullptr, 10));
}

// Is the process that ran us (our parent) in the scope named by the options?
bool caller_in_scope(const Options& o) {
  const pid_t caller = getppid();
  switch (o.scope) {
    case Scope::Process: return caller == o.pid;
    case Scope::ProcessGroup: return getpgid(caller) == o.pid;
    case Scope::Session: return getsid(caller) == o.pid;
    case Scope::Tree:
      for (pid_t p = caller, depth = 0; p > 1 && depth < 4096; ++depth) {
        if (p == o.pid) return true;
        p = ppid_of(p);
      }
      return false;
  }
  return false;
}

int main(int argc, char** argv) {
  catch_termination();
  Options o;
  int early = parse(argc, argv, o);
  // BLCR: a process may be named by any of its thread ids; the image is of the whole
  // thread group, under the process's own pid (context.PID too).
  if (early < 0 && (o.scope == Scope::Process || o.scope == Scope::Tree)) o.pid = tgid_of(o.pid);
  if (g_serving) {
    if (o.handle_fd < 0) return early >= 0 ? early : kExitUsage;
    if (early >= 0) {
      signal(SIGPIPE, SIG_IGN);
      refuse_request(o.handle_fd);
      return early;
    }
    int served = serve(o);
    if (g_interrupted) die_of(g_interrupted);
    return served;
  }
  if (early >= 0) return early;
  if (caller_in_scope(o)) {
    const pid_t waiter = getpid();
    pid_t worker = fork();
    if (worker < 0) {
      fprintf(stderr, "cr_checkpoint: fork: %s\n", strerror(errno));
      return 1;  // BLCR: 1 when the worker could not be made
    }
    if (worker > 0) wait_for_worker(worker);
    g_waiter = waiter;
  }
  if (o.quiet && !(o.dest == Dest::Fd && o.fd == 2)) {
    // --quiet: nothing at all on stderr, the engine's own warnings included.
    Fd null(open("/dev/null", O_WRONLY | O_CLOEXEC));
    if (null.valid()) dup2(null.get(), 2);
  }
  WarningCapture warnings("cr_checkpoint", o.quiet);
  auto result = run(o);
  warnings.stop();
  print_warnings("cr_checkpoint", warnings.lines(), o.kmsg, !result || *result != 0, o.quiet);
  if (g_interrupted) {
    if (!o.quiet && !result)
      fprintf(stderr, "cr_checkpoint: interrupted by SIG%s: the checkpoint of %d was abandoned; the process runs on\n",
              sigabbrev_np(g_interrupted), o.pid);
    die_of(g_interrupted);
  }
  if (result) return *result;
  if (g_timed_out) {
    if (!o.quiet)
      fprintf(stderr, "cr_checkpoint: checkpoint of %d gave up after the time limit of %u s (--time); the process runs on\n",
              o.pid, o.timeout);
    return ETIMEDOUT;
  }
  if (!o.quiet) fprintf(stderr, "cr_checkpoint: checkpoint of %d failed: %s\n", o.pid, result.error().message().c_str());
  return exit_code_for(result.error());
}
