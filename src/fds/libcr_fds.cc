// libcr's channel and request handles (libcr_fds.h).
#include "fds/libcr_fds.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "fds/fd_kind.h"
#include "fds/fd_table.h"
#include "libcr/protocol.h"
#include "restore/restore_context.h"
#include "sys/io.h"

namespace crest {

void mark_libcr_fd(FdRecord& rec, bool channel) {
  set_payload(rec, channel ? FdKind::LibcrChannel : FdKind::LibcrHandle, NoPayload{});
  rec.same_as = -1;
  rec.same_as_pid = 0;
}

namespace {

// libcr's channel: a new SOCK_SEQPACKET pair; the process gets one end at its channel's
// number, and the restart's Result (our pid, the image's path, the after-restart signal
// for libcr to raise before its handler returns) waits in it, so that the handler
// blocked in recv() on the channel returns into a restarted cr_checkpoint().
Result<Fd> open_channel(FdOpenContext& c, const FdRecord& rec) {
  namespace proto = libcr_proto;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return Error::os(format("fd %d: socketpair for libcr", rec.fd));
  Fd theirs(sv[0]), ours_end(sv[1]);
  auto msg = std::make_unique<proto::Result>();
  memset(msg.get(), 0, sizeof *msg);
  msg->magic = proto::kMagic;
  msg->type = proto::kResult;
  msg->value = getpid();
  msg->signal = c.options.after_signal;
  strncpy(msg->src, restart_source(c.options).c_str(), sizeof msg->src - 1);
  if (::send(ours_end.get(), msg.get(), sizeof *msg, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof *msg))
    return Error::os(format("fd %d: writing the restart's result for libcr", rec.fd));
  if (rec.flags & O_NONBLOCK) fcntl(theirs.get(), F_SETFL, O_NONBLOCK);
  c.shared.channels[c.image.process.pid] = std::move(ours_end);
  return theirs;
}

// A checkpoint request that was in flight: its handle reports CR_ERESTARTED at once.
Result<Fd> open_handle(FdOpenContext&, const FdRecord& rec) {
  namespace proto = libcr_proto;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Error::os(format("fd %d: pipe for a libcr request handle", rec.fd));
  Fd read_end(p[0]), write_end(p[1]);
  proto::HandleMsg msg{proto::kMagic, proto::kFinished, proto::kERestarted, 0};
  CR_TRY(write_all(write_end.get(), &msg, sizeof msg), "fd %d: filling a libcr request handle", rec.fd);
  if (rec.flags & O_NONBLOCK) fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
  return read_end;
}

}  // namespace

const FdKindOps kLibcrChannelKind{
    .kind = FdKind::LibcrChannel,
    .name = "libcr's channel",
    .open = open_channel,
    .print = print_payload<NoPayload>,
};

const FdKindOps kLibcrHandleKind{
    .kind = FdKind::LibcrHandle,
    .name = "libcr request handle",
    .open = open_handle,
    .print = print_payload<NoPayload>,
};

}  // namespace crest
