// Anonymous pipes of the image (pipe.h).
#include "fds/pipe.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>

#include "checkpoint/dump_context.h"
#include "fds/inherited.h"
#include "restore/restore_context.h"
#include "sys/io.h"

namespace crest {

namespace {

bool detect_pipe(const FdFacts& f) { return S_ISFIFO(f.st.st_mode); }  // after Fifo in the table

Result<void> dump_pipe(const FdFacts& f, FdRecord& rec) {
  // Inside the image if both ends are (decided by resolve_pipes once every process has
  // been read); otherwise it leads outside.
  set_payload(rec, FdKind::Pipe, PipeRecord{f.st.st_ino});
  return {};
}

// Whether a process outside `inside` holds pipe `ino` open. A process whose descriptors
// we may not read (another user's, when crest runs unprivileged) might: then the answer
// is yes, and the end is connected to cr_restart's stdio at restart, as BLCR always did.
// (Taking it for "closed everywhere" would restore a pipe with no reader: SIGPIPE.)
bool held_outside(uint64_t ino, const std::set<pid_t>& inside) {
  std::string want = format("pipe:[%llu]", static_cast<unsigned long long>(ino));
  for (pid_t pid : list_all_pids()) {
    if (inside.count(pid) || pid == getpid()) continue;
    std::string dir = format("/proc/%d/fd", pid);
    DIR* d = opendir(dir.c_str());
    if (!d) {
      if (errno == EACCES || errno == EPERM) return true;
      continue;  // gone meanwhile
    }
    bool found = false;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      auto target = read_link(dir + "/" + e->d_name);
      if (target && *target == want) {
        found = true;
        break;
      }
    }
    closedir(d);
    if (found) return true;
  }
  return false;
}

Result<void> resolve_pipes(FdTables& tables, bool) {
  std::map<uint64_t, int> ends;  // pipe_id -> bit 1: a read end seen, bit 2: a write end seen
  std::set<pid_t> inside;
  for (auto& [pid, table] : tables) {
    inside.insert(pid);
    for (const FdRecord& rec : table->fds)
      if (rec.kind == FdKind::Pipe) {
        auto pipe = CR_TRY(payload_of<PipeRecord>(rec));
        int mode = rec.flags & O_ACCMODE;
        ends[pipe.pipe_id] |= mode == O_RDONLY ? 1 : mode == O_WRONLY ? 2 : 3;
      }
  }
  std::map<uint64_t, bool> outside;
  for (auto& [id, seen] : ends)
    if (seen != 3) outside[id] = held_outside(id, inside);
  for (auto& [pid, table] : tables)
    for (FdRecord& rec : table->fds) {
      if (rec.kind != FdKind::Pipe) continue;
      uint64_t id = CR_TRY(payload_of<PipeRecord>(rec)).pipe_id;
      // The other end is held outside the image: at restart this end is connected to
      // cr_restart's stdin/stdout (or fd of the same number), as BLCR did. A pipe whose
      // other end is closed everywhere stays a pipe (restored with that end closed).
      if (ends[id] != 3 && outside[id]) make_inherited(rec);
    }
  return {};
}

Result<void> write_pipe_data(DumpContext& ctx, const FdRecord& rec, SavedObjects& saved) {
  if ((rec.flags & O_ACCMODE) == O_WRONLY) return {};  // read through a read end
  return save_pipe_contents(ctx, rec, CR_TRY(payload_of<PipeRecord>(rec)).pipe_id, saved);
}

Result<void> make_pipes(const std::vector<const ProcessImage*>& images, const RestoreOptions&, SharedFiles& shared) {
  for (const ProcessImage* image : images)
    for (const FdRecord& rec : image->fds.fds) {
      if (rec.kind != FdKind::Pipe) continue;
      uint64_t id = CR_TRY(payload_of<PipeRecord>(rec)).pipe_id;
      if (shared.pipes.count(id)) continue;
      int p[2];
      if (pipe2(p, O_CLOEXEC) != 0) return Error::os("pipe2");
      LocalPipe& lp = shared.pipes[id];
      lp.read = Fd(p[0]);
      lp.write = Fd(p[1]);
      CR_TRY(refill_pipe(lp, id, images, rec.fd));
    }
  return {};
}

// One end of a pipe of the image; a second open file description of the same end is a
// reopen through /proc/self/fd, as the original was.
Result<Fd> open_pipe_end(FdOpenContext& c, const FdRecord& rec) {
  uint64_t id = CR_TRY(payload_of<PipeRecord>(rec)).pipe_id;
  auto it = c.shared.pipes.find(id);
  if (it == c.shared.pipes.end()) return Error::corrupt(format("fd %d: pipe %llu was not made", rec.fd, (unsigned long long)id));
  LocalPipe& lp = it->second;
  int mode = rec.flags & O_ACCMODE;
  bool* used = mode == O_RDONLY ? &lp.read_used : mode == O_WRONLY ? &lp.write_used : nullptr;
  int source = mode == O_WRONLY ? lp.write.get() : lp.read.get();
  Fd f;
  if (used && !*used) {
    *used = true;
    f = Fd(fcntl(source, F_DUPFD_CLOEXEC, 0));
    if (f.valid() && fcntl(f.get(), F_SETFL, rec.flags & (O_NONBLOCK | O_DIRECT)) != 0) return Error::os("fcntl(F_SETFL) on a pipe");
  } else {
    f = Fd(::open(format("/proc/self/fd/%d", source).c_str(), (rec.flags & ~(O_CREAT | O_TRUNC | O_EXCL)) | O_CLOEXEC | O_NONBLOCK));
    if (f.valid() && !(rec.flags & O_NONBLOCK)) fcntl(f.get(), F_SETFL, rec.flags & O_DIRECT);
  }
  if (!f.valid()) return Error::os(format("fd %d: reopening its pipe", rec.fd));
  return f;
}

}  // namespace

Result<void> save_pipe_contents(DumpContext& ctx, const FdRecord& rec, uint64_t pipe_id, SavedObjects& saved) {
  if (!saved.insert({SectionType::PipeData, pipe_id}).second) return {};
  // A read end of our own, and tee(): copies what is buffered without consuming it.
  Fd in(::open(format("/proc/%d/fd/%d", ctx.pid, rec.fd).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!in.valid()) return Error::os(format("opening pipe of fd %d", rec.fd));
  int size = fcntl(in.get(), F_GETPIPE_SZ);
  if (size < 0) return Error::os(format("F_GETPIPE_SZ on fd %d", rec.fd));
  int tmp[2];
  if (pipe2(tmp, O_CLOEXEC | O_NONBLOCK) != 0) return Error::os("pipe2");
  Fd tmp_r(tmp[0]), tmp_w(tmp[1]);
  if (fcntl(tmp_w.get(), F_SETPIPE_SZ, size) < size) return Error::os(format("F_SETPIPE_SZ %d for a copy of fd %d's pipe", size, rec.fd));
  std::vector<uint8_t> data;
  ssize_t n = tee(in.get(), tmp_w.get(), static_cast<size_t>(size), SPLICE_F_NONBLOCK);
  if (n < 0 && errno != EAGAIN) return Error::os(format("tee from the pipe of fd %d", rec.fd));
  if (n > 0) {
    data.resize(n);
    size_t got = 0;
    while (got < data.size()) {
      ssize_t r = read(tmp_r.get(), data.data() + got, data.size() - got);
      if (r <= 0) return Error::os("reading the copy of a pipe's contents");
      got += r;
    }
  }
  ObjectDataHeader head{pipe_id, static_cast<uint32_t>(size), 0};
  return ctx.writer.write_section(SectionType::PipeData, ctx.pid, {{&head, sizeof head}, {data.data(), data.size()}});
}

Result<void> read_pipe_data(const Section& s, ProcessImage& image) {
  ObjectDataHeader head;
  if (s.payload.size() < sizeof head) return Error::corrupt("short PipeData section");
  memcpy(&head, s.payload.data(), sizeof head);
  auto& contents = image.pipe_data[head.object_id];
  contents.size = head.value;
  contents.bytes.assign(s.payload.begin() + sizeof head, s.payload.end());
  return {};
}

Result<void> refill_pipe(LocalPipe& lp, uint64_t pipe_id, const std::vector<const ProcessImage*>& images, int fd) {
  for (const ProcessImage* owner : images) {
    auto it = owner->pipe_data.find(pipe_id);
    if (it == owner->pipe_data.end()) continue;
    const auto& contents = it->second;
    if (contents.size && fcntl(lp.write.get(), F_SETPIPE_SZ, contents.size) < 0)
      return Error::os(format("F_SETPIPE_SZ %u for a pipe of fd %d", contents.size, fd));
    if (contents.bytes.size() > static_cast<size_t>(fcntl(lp.write.get(), F_GETPIPE_SZ)))
      return Error::corrupt(format("pipe of fd %d holds more bytes than its size", fd));
    CR_TRY(write_all(lp.write.get(), contents.bytes.data(), contents.bytes.size()), "refilling the pipe of fd %d", fd);
    break;
  }
  return {};
}

const FdKindOps kPipeKind{
    .kind = FdKind::Pipe,
    .name = "pipe",
    .detect = detect_pipe,
    .dump = dump_pipe,
    .resolve = resolve_pipes,
    .write_data = write_pipe_data,
    .make_shared = make_pipes,
    .open = open_pipe_end,
    .print = print_payload<PipeRecord>,
};

}  // namespace crest
