// Descriptors leading outside the image (inherited.h).
#include "fds/inherited.h"

#include <fcntl.h>

#include <algorithm>

#include "fds/fd_kind.h"
#include "restore/restorer.h"

namespace crest {

void make_inherited(FdRecord& rec) { set_payload(rec, FdKind::Inherited, NoPayload{}); }

bool started_with(const RestoreOptions& options, int fd) {
  return std::find(options.inherited_fds.begin(), options.inherited_fds.end(), fd) != options.inherited_fds.end();
}

namespace {

Result<Fd> open_inherited(FdOpenContext& c, const FdRecord& rec) {
  if (started_with(c.options, rec.fd)) return Fd(fcntl(rec.fd, F_DUPFD_CLOEXEC, 0));
  if (rec.path.rfind("pipe:", 0) == 0) {
    int stdio = (rec.flags & O_ACCMODE) == O_RDONLY ? 0 : 1;
    if (started_with(c.options, stdio)) return Fd(fcntl(stdio, F_DUPFD_CLOEXEC, 0));
  }
  return Error::os(format("fd %d was %s, which led outside the checkpointed process, and cr_restart has no fd %d to "
                          "put in its place", rec.fd, rec.path.c_str(), rec.fd), EBADF);
}

}  // namespace

const FdKindOps kInheritedKind{
    .kind = FdKind::Inherited,
    .name = "pipe or socket leading outside the image",
    .open = open_inherited,
    .print = print_payload<NoPayload>,
};

}  // namespace crest
