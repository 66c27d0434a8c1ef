// Generic socket options (socket_options.h).
#include "fds/socket_options.h"

#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

namespace crest {

namespace {

// The integer options, each with the member that holds it.
struct IntOption {
  const char* name;
  int opt;
  int32_t SocketOptions::*member;
};

constexpr IntOption kIntOptions[] = {
    {"SO_REUSEADDR", SO_REUSEADDR, &SocketOptions::reuseaddr},
    {"SO_REUSEPORT", SO_REUSEPORT, &SocketOptions::reuseport},
    {"SO_KEEPALIVE", SO_KEEPALIVE, &SocketOptions::keepalive},
    {"SO_BROADCAST", SO_BROADCAST, &SocketOptions::broadcast},
    {"SO_DONTROUTE", SO_DONTROUTE, &SocketOptions::dontroute},
    {"SO_OOBINLINE", SO_OOBINLINE, &SocketOptions::oobinline},
    {"SO_NO_CHECK", SO_NO_CHECK, &SocketOptions::no_check},
    {"SO_PRIORITY", SO_PRIORITY, &SocketOptions::priority},
    {"SO_MARK", SO_MARK, &SocketOptions::mark},
    {"SO_RCVLOWAT", SO_RCVLOWAT, &SocketOptions::rcvlowat},
    {"SO_PASSCRED", SO_PASSCRED, &SocketOptions::passcred},
    {"SO_PASSSEC", SO_PASSSEC, &SocketOptions::passsec},
    {"SO_TIMESTAMP", SO_TIMESTAMP_OLD, &SocketOptions::timestamp},
    {"SO_TIMESTAMPNS", SO_TIMESTAMPNS_OLD, &SocketOptions::timestampns},
    {"SO_TIMESTAMPING", SO_TIMESTAMPING_OLD, &SocketOptions::timestamping},
    {"SO_RXQ_OVFL", SO_RXQ_OVFL, &SocketOptions::rxq_ovfl},
    {"SO_WIFI_STATUS", SO_WIFI_STATUS, &SocketOptions::wifi_status},
    {"SO_PEEK_OFF", SO_PEEK_OFF, &SocketOptions::peek_off},
    {"SO_BUSY_POLL", SO_BUSY_POLL, &SocketOptions::busy_poll},
    {"SO_SELECT_ERR_QUEUE", SO_SELECT_ERR_QUEUE, &SocketOptions::select_err_queue},
    {"SO_ZEROCOPY", SO_ZEROCOPY, &SocketOptions::zerocopy},
    {"SO_LOCK_FILTER", SO_LOCK_FILTER, &SocketOptions::lock_filter},
};

// Options a socket family may not have: reading one fails with these, and it is left at
// its default.
bool not_for_this_socket(int err) { return err == ENOPROTOOPT || err == EOPNOTSUPP || err == EINVAL; }

Result<int32_t> get_int(int sock, const char* name, int opt, int32_t fallback) {
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(sock, SOL_SOCKET, opt, &value, &len) == 0) return value;
  if (not_for_this_socket(errno)) return fallback;
  return Error::os(format("getsockopt(%s)", name));
}

Result<int64_t> get_timeout(int sock, const char* name, int opt) {
  timeval tv{};
  socklen_t len = sizeof tv;
  if (getsockopt(sock, SOL_SOCKET, opt, &tv, &len) != 0) return Error::os(format("getsockopt(%s)", name));
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

// A refusal that says why: a missing privilege or a system limit is Unsupported (the
// image is fine, this machine or user cannot have it).
Error set_failed(const char* name, long long value) {
  int err = errno;
  if (err == EPERM || err == EACCES)
    return Error::unsupported(format("socket option %s = %lld needs CAP_NET_ADMIN", name, value));
  return Error::os(format("setsockopt(%s, %lld)", name, value), err);
}

// SO_RCVBUF/SO_SNDBUF: the kernel stores twice what is asked; FORCE goes past
// net.core.[rw]mem_max but needs CAP_NET_ADMIN.
Result<void> set_buffer(int sock, const char* name, int opt, int force_opt, int32_t saved) {
  int half = saved / 2;
  if (setsockopt(sock, SOL_SOCKET, force_opt, &half, sizeof half) != 0) {
    if (errno != EPERM) return set_failed(name, saved);
    if (setsockopt(sock, SOL_SOCKET, opt, &half, sizeof half) != 0) return set_failed(name, saved);
  }
  int32_t now = CR_TRY(get_int(sock, name, opt, 0));
  if (now != saved)
    return Error::unsupported(format("socket option %s: %d bytes cannot be reached, only %d (net.core.%s_max, or "
                                     "CAP_NET_ADMIN for SO_%sBUFFORCE)",
                                     name, saved, now, opt == SO_RCVBUF ? "rmem" : "wmem", opt == SO_RCVBUF ? "RCV" : "SND"));
  return {};
}

Result<void> set_timeout(int sock, const char* name, int opt, int64_t us) {
  timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  if (setsockopt(sock, SOL_SOCKET, opt, &tv, sizeof tv) != 0) return set_failed(name, us);
  return {};
}

}  // namespace

Result<SocketOptions> read_socket_options(int sock) {
  SocketOptions o;
  socklen_t filter_len = 0;  // with no room, the number of filter instructions
  if (getsockopt(sock, SOL_SOCKET, SO_GET_FILTER, nullptr, &filter_len) == 0 && filter_len > 0)
    return Error::unsupported("a socket filter (SO_ATTACH_FILTER/SO_ATTACH_BPF) is attached");
  for (const IntOption& opt : kIntOptions) o.*opt.member = CR_TRY(get_int(sock, opt.name, opt.opt, o.*opt.member));
  o.rcvbuf = CR_TRY(get_int(sock, "SO_RCVBUF", SO_RCVBUF, 0));
  o.sndbuf = CR_TRY(get_int(sock, "SO_SNDBUF", SO_SNDBUF, 0));
  linger l{};
  socklen_t len = sizeof l;
  if (getsockopt(sock, SOL_SOCKET, SO_LINGER, &l, &len) != 0) return Error::os("getsockopt(SO_LINGER)");
  o.linger_on = l.l_onoff;
  o.linger_seconds = l.l_linger;
  o.rcvtimeo_us = CR_TRY(get_timeout(sock, "SO_RCVTIMEO", SO_RCVTIMEO_OLD));
  o.sndtimeo_us = CR_TRY(get_timeout(sock, "SO_SNDTIMEO", SO_SNDTIMEO_OLD));
  char dev[IFNAMSIZ + 1] = {};
  len = IFNAMSIZ;
  if (getsockopt(sock, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) == 0) o.bindtodevice.assign(dev, strnlen(dev, len));
  else if (!not_for_this_socket(errno)) return Error::os("getsockopt(SO_BINDTODEVICE)");
  return o;
}

Result<void> apply_socket_options(int sock, const SocketOptions& saved) {
  SocketOptions now = CR_TRY(read_socket_options(sock));
  // The device first: SO_MARK and the buffers do not depend on it, but a bind does.
  if (saved.bindtodevice != now.bindtodevice &&
      setsockopt(sock, SOL_SOCKET, SO_BINDTODEVICE, saved.bindtodevice.c_str(), saved.bindtodevice.size()) != 0) {
    if (errno == ENODEV)
      return Error::unsupported(format("socket option SO_BINDTODEVICE: no device %s here", saved.bindtodevice.c_str()));
    return set_failed("SO_BINDTODEVICE", 0);
  }
  for (const IntOption& opt : kIntOptions) {
    int value = saved.*opt.member;
    if (value == now.*opt.member) continue;
    if (setsockopt(sock, SOL_SOCKET, opt.opt, &value, sizeof value) != 0) return set_failed(opt.name, value);
  }
  if (saved.rcvbuf != now.rcvbuf) CR_TRY(set_buffer(sock, "SO_RCVBUF", SO_RCVBUF, SO_RCVBUFFORCE, saved.rcvbuf));
  if (saved.sndbuf != now.sndbuf) CR_TRY(set_buffer(sock, "SO_SNDBUF", SO_SNDBUF, SO_SNDBUFFORCE, saved.sndbuf));
  if (saved.linger_on != now.linger_on || saved.linger_seconds != now.linger_seconds) {
    linger l{saved.linger_on, saved.linger_seconds};
    if (setsockopt(sock, SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0) return set_failed("SO_LINGER", saved.linger_seconds);
  }
  if (saved.rcvtimeo_us != now.rcvtimeo_us) CR_TRY(set_timeout(sock, "SO_RCVTIMEO", SO_RCVTIMEO_OLD, saved.rcvtimeo_us));
  if (saved.sndtimeo_us != now.sndtimeo_us) CR_TRY(set_timeout(sock, "SO_SNDTIMEO", SO_SNDTIMEO_OLD, saved.sndtimeo_us));
  return {};
}

}  // namespace crest
