// The restore side of the fd table: every fd of the image is opened here, in
// cr_restart, by its kind's unit, so that a missing or changed file is reported before
// any process exists; the stub then only puts them at their numbers.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "fds/deleted_file.h"
#include "fds/fd_table.h"
#include "fds/file_locks.h"
#include "fds/file_owner.h"
#include "fds/pipe.h"
#include "fds/unix_socket.h"
#include "restore/restore_context.h"
#include "sys/io.h"

namespace crest {

Result<bool> read_fd_data_section(const Section& s, ProcessImage& image) {
  switch (s.type) {
    case SectionType::FileData: CR_TRY(read_file_data(s, image)); return true;
    case SectionType::PipeData: CR_TRY(read_pipe_data(s, image)); return true;
    case SectionType::SocketData: CR_TRY(read_socket_data(s, image)); return true;
    default: return false;
  }
}

Result<void> make_shared_files(const std::vector<const ProcessImage*>& images, const RestoreOptions& options,
                               SharedFiles& shared) {
  for (const ProcessImage* image : images)
    for (const FdRecord& rec : image->fds.fds)
      if (!fd_kind_ops(rec.kind)) return Error::corrupt(format("process %d, fd %d: unknown kind %u", image->process.pid, rec.fd,
                                                               static_cast<unsigned>(rec.kind)));
  for (const FdKindOps* kind : fd_kinds())
    if (kind->make_shared) CR_TRY(kind->make_shared(images, options, shared));
  return {};
}

Result<std::vector<PreparedFd>> prepare_fds(const ProcessImage& image, const RestoreOptions& options, const PreparedMap& earlier,
                                            SharedFiles& shared) {
  std::vector<PreparedFd> out;
  auto fail = [&](Error e) -> Result<std::vector<PreparedFd>> {
    close_prepared(out);
    return e;
  };
  int base = 0;
  for (auto& rec : image.fds.fds) base = std::max(base, rec.fd + 1);
  base = std::max(base, 64);
  for (const FdRecord& rec : image.fds.fds) {
    int source = -1;  // a descriptor this fd is a dup of
    if (rec.same_as >= 0 && rec.same_as_pid != 0) {
      auto e = earlier.find({rec.same_as_pid, rec.same_as});
      if (e == earlier.end())
        return fail(Error::corrupt(format("fd %d shares the file of fd %d of process %d, which is not in the image", rec.fd,
                                          rec.same_as, rec.same_as_pid)));
      source = e->second;
    } else if (rec.same_as >= 0) {
      auto it = std::find_if(out.begin(), out.end(), [&](const PreparedFd& p) { return p.target == rec.same_as; });
      if (it == out.end()) return fail(Error::corrupt(format("fd %d shares the file of fd %d, which is not in the image", rec.fd, rec.same_as)));
      source = it->local;
    }
    if (source >= 0) {
      int dup = fcntl(source, F_DUPFD_CLOEXEC, base);
      if (dup < 0) return fail(Error::os("fcntl(F_DUPFD_CLOEXEC)"));
      out.push_back({rec.fd, dup});
      continue;
    }
    const FdKindOps* kind = fd_kind_ops(rec.kind);
    if (!kind) return fail(Error::corrupt(format("fd %d: unknown kind %u", rec.fd, static_cast<unsigned>(rec.kind))));
    if (!kind->open) continue;  // closed in the restored process
    FdOpenContext ctx{image, options, shared, relocate_path(rec.path, options.relocations)};
    Result<Fd> f = kind->open(ctx, rec);
    if (!f) return fail(f.error());
    int high = fcntl(f->get(), F_DUPFD_CLOEXEC, base);
    if (high < 0) return fail(Error::os("fcntl(F_DUPFD_CLOEXEC)"));
    out.push_back({rec.fd, high});
  }
  return out;
}

void close_prepared(std::vector<PreparedFd>& fds) {
  for (auto& p : fds)
    if (p.local >= 0) ::close(p.local);
  fds.clear();
}

Result<void> restore_fds_in_process(StubSession& s, const ProcessImage& image) {
  for (const FdRecord& f : image.fds.fds)
    if (f.cloexec && fd_kind_ops(f.kind) && fd_kind_ops(f.kind)->open)
      CR_TRY(s.sys.call("fcntl(F_SETFD)", SYS_fcntl, {static_cast<uint64_t>(f.fd), F_SETFD, FD_CLOEXEC}));
  for (const FdRecord& f : image.fds.fds) {
    const FdKindOps* kind = fd_kind_ops(f.kind);
    if (f.same_as < 0 && kind && kind->in_process) CR_TRY(kind->in_process(s, image, f));
  }
  for (const FdRecord& f : image.fds.fds) {
    if (!fd_kind_ops(f.kind) || !fd_kind_ops(f.kind)->open) continue;
    CR_TRY(retake_file_locks(s, f));
    CR_TRY(restore_file_owner(s, f, image.process.pid, s.tracee.tid()));
  }
  return {};
}

std::string restart_source(const RestoreOptions& options) {
  if (!options.source_path.empty()) return options.source_path;
  struct stat st {};
  if (options.in_fd < 0 || fstat(options.in_fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
    return "";
  auto path = read_link(format("/proc/self/fd/%d", options.in_fd));
  if (!path || path->empty() || (*path)[0] != '/') return "";  // an unnamed pipe
  return *path;
}

std::string relocate_path(const std::string& path, const std::vector<std::pair<std::string, std::string>>& relocations) {
  for (auto& [from, to] : relocations) {
    if (path.compare(0, from.size(), from) != 0) continue;
    if (path.size() == from.size() || path[from.size()] == '/' || from == "/") return to + path.substr(from.size());
  }
  return path;
}

namespace {

// Prints a record's fields but its payload, which its kind prints by name.
struct CommonFields {
  Printer& printer;
  template <class T> void field(const char* name, const T& value) {
    if (strcmp(name, "payload") != 0) printer.field(name, value);
  }
};

}  // namespace

Result<void> print_fd_table(const FdTableRecord& table, std::string& out, int indent) {
  std::string pad(indent * 2, ' ');
  out += format("%sfds: [%zu]\n", pad.c_str(), table.fds.size());
  for (const FdRecord& rec : table.fds) {
    out += pad + "  -\n";
    Printer printer(out, indent + 2);
    CommonFields common{printer};
    FdRecord copy = rec;
    copy.fields(common);
    const FdKindOps* kind = fd_kind_ops(rec.kind);
    out += format("%s    payload (%s):\n", pad.c_str(), fd_kind_name(rec.kind));
    if (kind && kind->print) CR_TRY(kind->print(rec, out, indent + 3));
  }
  return {};
}

}  // namespace crest
