// What the kernel tells of every unix socket (NETLINK_SOCK_DIAG: type,
// state, peer, bound name, queue lengths), and the bytes queued for reading, copied
// with MSG_PEEK from a duplicate of the target's socket (pidfd_getfd) without
// consuming them.
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "fds/unix_socket_diag.h"

#include "base/fd.h"
#include "sys/io.h"

namespace crest {

Result<std::map<uint64_t, UnixSocketInfo>> read_unix_sockets() {
  Fd nl(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!nl.valid()) return Error::os("socket(NETLINK_SOCK_DIAG)");
  struct {
    nlmsghdr nlh;
    unix_diag_req req;
  } request{};
  request.nlh.nlmsg_len = sizeof request;
  request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.req.sdiag_family = AF_UNIX;
  request.req.udiag_states = ~0u;
  request.req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_ICONS | UDIAG_SHOW_VFS;
  if (send(nl.get(), &request, sizeof request, 0) < 0) return Error::os("sending the unix socket query");

  std::map<uint64_t, UnixSocketInfo> out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = recv(nl.get(), buf.data(), buf.size(), 0);
    if (n < 0) return Error::os("reading unix socket diagnostics");
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) return out;
      if (h->nlmsg_type == NLMSG_ERROR) return Error::os("unix socket diagnostics refused", EPERM);
      auto* msg = static_cast<unix_diag_msg*>(NLMSG_DATA(h));
      UnixSocketInfo info;
      info.type = msg->udiag_type;
      info.state = msg->udiag_state;
      int len = h->nlmsg_len - NLMSG_LENGTH(sizeof *msg);
      for (rtattr* a = reinterpret_cast<rtattr*>(msg + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        switch (a->rta_type) {
          case UNIX_DIAG_NAME: {
            const char* p = static_cast<const char*>(RTA_DATA(a));
            info.name.assign(p, RTA_PAYLOAD(a));
            break;
          }
          case UNIX_DIAG_PEER: info.peer = *static_cast<uint32_t*>(RTA_DATA(a)); break;
          case UNIX_DIAG_RQLEN: {
            auto* q = static_cast<unix_diag_rqlen*>(RTA_DATA(a));
            info.rqueue = q->udiag_rqueue;
            info.wqueue = q->udiag_wqueue;
            break;
          }
          case UNIX_DIAG_ICONS: info.pending_connections = RTA_PAYLOAD(a) / sizeof(uint32_t); break;
          case UNIX_DIAG_VFS: {
            auto* v = static_cast<unix_diag_vfs*>(RTA_DATA(a));
            info.vfs_ino = v->udiag_vfs_ino;
            info.vfs_dev = v->udiag_vfs_dev;
            break;
          }
          case UNIX_DIAG_SHUTDOWN: info.shutdown = *static_cast<uint8_t*>(RTA_DATA(a)); break;
          default: break;
        }
      }
      out[msg->udiag_ino] = info;
    }
  }
}

Result<std::vector<QueuedMessage>> peek_socket_queue(pid_t pid, int fd, int type, bool receive_shut) {
  Fd sock = CR_TRY(dup_target_fd(pid, fd));
  // The peek offset walks the queue without consuming it; the application's own (the
  // socket is shared with it) is put back after.
  int before = -1;
  socklen_t len = sizeof before;
  if (getsockopt(sock.get(), SOL_SOCKET, SO_PEEK_OFF, &before, &len) != 0) return Error::os("SO_PEEK_OFF");
  int off = 0;
  if (setsockopt(sock.get(), SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off) != 0) return Error::os("SO_PEEK_OFF");
  struct PeekOffBack {
    int fd, value;
    ~PeekOffBack() { setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &value, sizeof value); }
  } reset{sock.get(), before};
  std::vector<QueuedMessage> messages;
  std::vector<uint8_t> buf(1 << 20);
  if (type == SOCK_STREAM) {
    // One element: the bytes of every queued skb in order (a peek stops at each skb
    // boundary where the credentials change).
    QueuedMessage all;
    for (;;) {
      ssize_t n = recv(sock.get(), buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
      if (n <= 0) break;  // EAGAIN: the end; 0: the peer shut down its side
      all.bytes.insert(all.bytes.end(), buf.begin(), buf.begin() + n);
    }
    if (!all.bytes.empty()) messages.push_back(std::move(all));
    return messages;
  }
  // Datagrams keep their boundaries and their senders. A datagram larger than the buffer
  // is peeked again whole from its start (a short peek moves the offset into it).
  size_t at = 0;  // the peek offset: the bytes of the datagrams already read
  int queued_bytes = 0;
  if (type == SOCK_SEQPACKET && ioctl(sock.get(), SIOCINQ, &queued_bytes) != 0) return Error::os("SIOCINQ");
  for (;;) {
    sockaddr_un from{};
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = recvmsg(sock.get(), &msg, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) break;
    // A seqpacket socket whose receive side is shut reads 0 at the end of its queue, as
    // for a message of 0 bytes: past the queue's bytes (SIOCINQ), a 0 is the end.
    if (n == 0 && receive_shut && type == SOCK_SEQPACKET && at >= static_cast<size_t>(queued_bytes)) break;
    if (static_cast<size_t>(n) > buf.size()) {
      buf.resize(n);
      int back = static_cast<int>(at);
      if (setsockopt(sock.get(), SOL_SOCKET, SO_PEEK_OFF, &back, sizeof back) != 0) return Error::os("SO_PEEK_OFF");
      continue;
    }
    std::string sender;
    if (msg.msg_namelen > offsetof(sockaddr_un, sun_path)) {
      size_t len = msg.msg_namelen - offsetof(sockaddr_un, sun_path);
      sender.assign(from.sun_path, len);
      if (!sender.empty() && sender[0] != '\0') sender = sender.c_str();  // drop the trailing NUL
    }
    messages.push_back({std::vector<uint8_t>(buf.begin(), buf.begin() + n), sender});
    at += n;
  }
  return messages;
}

}  // namespace crest
