// cr_checkpoint: BLCR's tool. Writes the image of a process to a file (atomically by
// default), to an fd, or to context.PID in the current directory.
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "base/fd.h"
#include "checkpoint/checkpointer.h"
#include "tool_common.h"

using namespace crest;

namespace {

volatile sig_atomic_t g_timed_out = 0;
void on_alarm(int) { g_timed_out = 1; }

enum class Dest { Cwd, File, Fd };
enum class Mode { Atomic, Backup, Clobber, NoClobber };

struct Options {
  pid_t pid = 0;
  Dest dest = Dest::Cwd;
  int dest_count = 0;
  std::string file;
  int fd = -1;
  Mode mode = Mode::Atomic;
  std::string backup_name;
  AfterCheckpoint after = AfterCheckpoint::Run;
  int signal = 0;
  bool sync = true;
  Scope scope = Scope::Tree;
  TracePolicy trace;
  bool skip_unsupported = false;
  Compression compression;
  unsigned timeout = 0;
  int verbose = 0;
  bool quiet = false;
};

void usage(FILE* out) {
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
          "Other:\n"
          "  -t, --time SEC        give up after SEC seconds, leaving the process running\n"
          "  --compress=CODEC      compress memory pages: zstd, zstd:LEVEL or lz4 (cr_restart needs no option)\n"
          "  --skip-unsupported    leave out descriptors crest cannot restore (a TCP socket, say)\n"
          "                        instead of failing; they are closed in the restarted process\n"
          "  -v, --verbose         more messages on stderr\n"
          "  -q, --quiet           no messages on stderr\n"
          "  -h, -?, --help        this help\n"
          "  --version             print the version\n"
          "  --ptraced-error        fail (exit 56) if a process is traced by another (default)\n"
          "  --ptraced-skip         leave traced processes out\n"
          "  --ptraced-allow        as --ptraced-error: a process has only one tracer\n"
          "  --ptracer-error        fail (exit 57) if a process traces another (default)\n"
          "  --ptracer-skip         leave tracing processes out\n"
          "Accepted for BLCR compatibility, no effect: --save-*, --kmsg-*\n",
          CREST_VERSION);
}

enum LongOnly {
  kAtomic = 1000, kBackup, kClobber, kNoClobber, kRun, kStop, kTerm, kAbort, kKill, kCont, kSync, kNoSync,
  kVersion, kIgnored, kSkipUnsupported, kCompress, kPtracedError, kPtracedSkip, kPtracedAllow, kPtracerError, kPtracerSkip,
};

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
      {"compress", required_argument, nullptr, kCompress},
      {"save-exe", no_argument, nullptr, kIgnored}, {"save-private", no_argument, nullptr, kIgnored},
      {"save-shared", no_argument, nullptr, kIgnored}, {"save-all", no_argument, nullptr, kIgnored},
      {"save-none", no_argument, nullptr, kIgnored}, {"ptraced-error", no_argument, nullptr, kPtracedError},
      {"ptraced-skip", no_argument, nullptr, kPtracedSkip}, {"ptraced-allow", no_argument, nullptr, kPtracedAllow},
      {"ptracer-error", no_argument, nullptr, kPtracerError}, {"ptracer-skip", no_argument, nullptr, kPtracerSkip},
      {"kmsg-none", no_argument, nullptr, kIgnored}, {"kmsg-error", no_argument, nullptr, kIgnored},
      {"kmsg-warning", no_argument, nullptr, kIgnored}, {nullptr, 0, nullptr, 0}};
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; ++i)
    if (strcmp(argv[i], "-?") == 0) { usage(stdout); return 0; }
  int c;
  while ((c = getopt_long(argc, argv, "vqhTpgscf:F:d:S:t:", longopts, nullptr)) != -1) {
    switch (c) {
      case 'v': ++o.verbose; break;
      case 'q': o.quiet = true; break;
      case 'h': usage(stdout); return 0;
      case kVersion: printf("cr_checkpoint version %s (crest)\n", CREST_VERSION); return 0;
      case 'T': o.scope = Scope::Tree; break;
      case 'p': o.scope = Scope::Process; break;
      case 'g': o.scope = Scope::ProcessGroup; break;
      case 's': o.scope = Scope::Session; break;
      case 'c': o.dest = Dest::Cwd; ++o.dest_count; break;
      case 'f': o.dest = Dest::File; o.file = optarg; ++o.dest_count; break;
      case 'F': {
        char* end;
        long v = strtol(optarg, &end, 10);
        if (*end || v < 0) { fprintf(stderr, "cr_checkpoint: --fd '%s' is not a descriptor number\n", optarg); return kExitUsage; }
        o.dest = Dest::Fd; o.fd = static_cast<int>(v); ++o.dest_count; break;
      }
      case 'd': if (!o.quiet) fprintf(stderr, "cr_checkpoint: -d flag not yet implemented\n"); return EINVAL;
      case kAtomic: o.mode = Mode::Atomic; break;
      case kBackup: o.mode = Mode::Backup; o.backup_name = optarg ? optarg : ""; break;
      case kClobber: o.mode = Mode::Clobber; break;
      case kNoClobber: o.mode = Mode::NoClobber; break;
      case kRun: o.after = AfterCheckpoint::Run; break;
      case 'S': {
        char* end;
        long v = strtol(optarg, &end, 10);
        if (*end || v < 1 || v >= NSIG) { if (!o.quiet) fprintf(stderr, "cr_checkpoint: invalid signal '%s'\n", optarg); return EINVAL; }
        o.after = AfterCheckpoint::Signal; o.signal = static_cast<int>(v); break;
      }
      case kStop: o.after = AfterCheckpoint::Signal; o.signal = SIGSTOP; break;
      case kTerm: o.after = AfterCheckpoint::Signal; o.signal = SIGTERM; break;
      case kAbort: o.after = AfterCheckpoint::Signal; o.signal = SIGABRT; break;
      case kCont: o.after = AfterCheckpoint::Signal; o.signal = SIGCONT; break;
      case kKill: o.after = AfterCheckpoint::Kill; o.signal = SIGKILL; break;
      case kSync: o.sync = true; break;
      case kNoSync: o.sync = false; break;
      case 't': {
        char* end;
        long v = strtol(optarg, &end, 10);
        if (*end || v < 0) { fprintf(stderr, "cr_checkpoint: --time '%s' must be a number of seconds >= 0\n", optarg); return kExitUsage; }
        o.timeout = static_cast<unsigned>(v); break;
      }
      case kPtracedError: o.trace.traced = PtracedPolicy::Error; break;
      case kPtracedSkip: o.trace.traced = PtracedPolicy::Skip; break;
      case kPtracedAllow: o.trace.traced = PtracedPolicy::Allow; break;
      case kPtracerError: o.trace.tracer = PtracerPolicy::Error; break;
      case kPtracerSkip: o.trace.tracer = PtracerPolicy::Skip; break;
      case kSkipUnsupported: o.skip_unsupported = true; break;
      case kCompress: {
        auto c = parse_compression(optarg);
        if (!c) { fprintf(stderr, "cr_checkpoint: %s\n", c.error().message().c_str()); return kExitUsage; }
        o.compression = *c;
        break;
      }
      case kIgnored: break;
      default: usage(stderr); return kExitUsage;
    }
  }
  if (optind + 1 != argc) {
    if (!o.quiet) fprintf(stderr, "cr_checkpoint: exactly one process ID is required\n");
    usage(stderr);
    return kExitUsage;
  }
  char* end;
  long pid = strtol(argv[optind], &end, 10);
  if (*end || pid <= 0) {
    if (!o.quiet) fprintf(stderr, "cr_checkpoint: '%s' is not a process ID\n", argv[optind]);
    return kExitUsage;
  }
  o.pid = static_cast<pid_t>(pid);
  if (o.dest_count > 1) {
    if (!o.quiet) fprintf(stderr, "cr_checkpoint: give only one destination (-f, -F, -c or -d)\n");
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

Result<int> run(const Options& o) {
  if (o.timeout) {
    struct sigaction sa {};
    sa.sa_handler = on_alarm;  // no SA_RESTART: a blocked write or wait returns EINTR
    sigaction(SIGALRM, &sa, nullptr);
    alarm(o.timeout);
  }
  ProgressLine progress("cr_checkpoint", "written");
  CheckpointOptions copt;
  copt.pid = o.pid;
  copt.scope = o.scope;
  copt.trace_policy = o.trace;
  copt.skip_unsupported = o.skip_unsupported;
  copt.compression = o.compression;
  copt.after = o.after;
  copt.after_signal = o.signal;
  copt.progress = [&](uint64_t b) { progress.update(b); };
  copt.cancelled = [] { return g_timed_out != 0; };

  if (o.dest == Dest::Fd) {
    if (fcntl(o.fd, F_GETFD) < 0) return Error::os(format("--fd %d is not an open descriptor", o.fd), EBADF);
    copt.out_fd = o.fd;
    auto stats = CR_TRY(checkpoint_process(copt));
    progress.finish();
    if (o.sync && fsync(o.fd) != 0 && errno != EINVAL && errno != EROFS) return Error::os("fsync of the image");
    if (o.verbose) fprintf(stderr, "cr_checkpoint: %llu bytes, %llu pages\n", (unsigned long long)stats.image_bytes, (unsigned long long)stats.pages);
    return 0;
  }

  std::string path = o.dest == Dest::File ? o.file : format("context.%d", o.pid);
  struct stat st {};
  bool exists = stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return Error::os(format("%s is a directory", path.c_str()), EISDIR);
  if (exists && o.mode == Mode::NoClobber) return Error::os(format("%s exists (--noclobber)", path.c_str()), EEXIST);

  const bool in_place = o.mode == Mode::Clobber || (exists && !S_ISREG(st.st_mode));  // FIFOs, sockets, devices
  std::string write_path = in_place ? path : dir_of(path) + "/." + base_of(path) + ".tmp";
  if (in_place && exists && S_ISREG(st.st_mode) && access(path.c_str(), W_OK) != 0) unlink(path.c_str());
  if (!in_place) unlink(write_path.c_str());
  int flags = O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY | O_CLOEXEC | (in_place ? 0 : O_EXCL);
  Fd out(open(write_path.c_str(), flags, 0400));
  if (!out.valid()) return Error::os(format("cannot create %s", write_path.c_str()));
  bool regular = fstat(out.get(), &st) == 0 && S_ISREG(st.st_mode);
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
  if (o.verbose)
    fprintf(stderr, "cr_checkpoint: wrote %s: %llu bytes, %llu pages\n", path.c_str(), (unsigned long long)stats->image_bytes,
            (unsigned long long)stats->pages);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  int early = parse(argc, argv, o);
  if (early >= 0) return early;
  auto result = run(o);
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
