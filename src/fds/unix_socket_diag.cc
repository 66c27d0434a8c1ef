// What the kernel tells of every unix socket (NETLINK_SOCK_DIAG: type,
// state, peer, bound name, queue lengths), and the bytes queued for reading, copied
// with MSG_PEEK from a duplicate of the target's socket (pidfd_getfd) without
// consuming them.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
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
  request.req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_ICONS;
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
          default: break;
        }
      }
      out[msg->udiag_ino] = info;
    }
  }
}

Result<std::vector<QueuedMessage>> peek_socket_queue(pid_t pid, int fd, int type) {
  Fd sock = CR_TRY(dup_target_fd(pid, fd));
  std::vector<QueuedMessage> messages;
  std::vector<uint8_t> buf(1 << 20);
  if (type == SOCK_STREAM) {
    ssize_t n = recv(sock.get(), buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) messages.push_back({std::vector<uint8_t>(buf.begin(), buf.begin() + n), {}});
    return messages;
  }
  // Datagrams keep their boundaries and their senders: walk the queue with a peek
  // offset, then put the offset back to "off".
  int off = 0;
  if (setsockopt(sock.get(), SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off) != 0) return Error::os("SO_PEEK_OFF");
  for (int i = 0; i < 100000; ++i) {
    sockaddr_un from{};
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = recvmsg(sock.get(), &msg, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) break;
    if (static_cast<size_t>(n) > buf.size()) return Error::unsupported("a queued datagram larger than 1 MiB");
    std::string sender;
    if (msg.msg_namelen > offsetof(sockaddr_un, sun_path)) {
      size_t len = msg.msg_namelen - offsetof(sockaddr_un, sun_path);
      sender.assign(from.sun_path, len);
      if (!sender.empty() && sender[0] != '\0') sender = sender.c_str();  // drop the trailing NUL
    }
    messages.push_back({std::vector<uint8_t>(buf.begin(), buf.begin() + n), sender});
  }
  off = -1;
  setsockopt(sock.get(), SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off);
  return messages;
}

}  // namespace crest
