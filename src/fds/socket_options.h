// The options every socket has, whatever its family (SOL_SOCKET): one typed record,
// read at checkpoint from a duplicate of the target's socket (pidfd_getfd, nothing
// injected) and set again on the new socket at restart. Each socket kind's payload
// holds one (unix, inet, netlink, packet...).
//
// Restore sets only what differs from the new socket's own value, so an option left at
// its default is never touched (a buffer size the kernel tunes by itself is not locked,
// an option needing a capability is not asked for). Buffer sizes are set with
// SO_*BUFFORCE where the caller may, else with the plain option; a size that cannot be
// reached (above net.core.[rw]mem_max for an ordinary user), a mark or priority that
// needs CAP_NET_ADMIN, and a device that no longer exists are refused by name. An
// attached socket filter (SO_ATTACH_FILTER/BPF) is refused at checkpoint.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace crest {

struct SocketOptions {
  int32_t rcvbuf = 0;          // SO_RCVBUF as read (the kernel's doubled value)
  int32_t sndbuf = 0;          // SO_SNDBUF as read
  int32_t reuseaddr = 0;       // SO_REUSEADDR
  int32_t reuseport = 0;       // SO_REUSEPORT
  int32_t keepalive = 0;       // SO_KEEPALIVE
  int32_t broadcast = 0;       // SO_BROADCAST
  int32_t dontroute = 0;       // SO_DONTROUTE
  int32_t oobinline = 0;       // SO_OOBINLINE
  int32_t no_check = 0;        // SO_NO_CHECK
  int32_t priority = 0;        // SO_PRIORITY (above 6 needs CAP_NET_ADMIN)
  int32_t mark = 0;            // SO_MARK (needs CAP_NET_ADMIN)
  int32_t rcvlowat = 1;        // SO_RCVLOWAT
  int32_t passcred = 0;        // SO_PASSCRED
  int32_t passsec = 0;         // SO_PASSSEC
  int32_t timestamp = 0;       // SO_TIMESTAMP
  int32_t timestampns = 0;     // SO_TIMESTAMPNS
  int32_t timestamping = 0;    // SO_TIMESTAMPING flags
  int32_t rxq_ovfl = 0;        // SO_RXQ_OVFL
  int32_t wifi_status = 0;     // SO_WIFI_STATUS
  int32_t peek_off = -1;       // SO_PEEK_OFF (-1: off)
  int32_t busy_poll = 0;       // SO_BUSY_POLL, microseconds
  int32_t select_err_queue = 0;  // SO_SELECT_ERR_QUEUE
  int32_t zerocopy = 0;        // SO_ZEROCOPY
  int32_t lock_filter = 0;     // SO_LOCK_FILTER
  int32_t linger_on = 0;       // SO_LINGER l_onoff
  int32_t linger_seconds = 0;  // SO_LINGER l_linger
  int64_t rcvtimeo_us = 0;     // SO_RCVTIMEO, microseconds (0: none)
  int64_t sndtimeo_us = 0;     // SO_SNDTIMEO
  std::string bindtodevice;    // SO_BINDTODEVICE: an interface name, empty if none
  template <class V> void fields(V& v) {
    v.field("rcvbuf", rcvbuf); v.field("sndbuf", sndbuf); v.field("reuseaddr", reuseaddr);
    v.field("reuseport", reuseport); v.field("keepalive", keepalive); v.field("broadcast", broadcast);
    v.field("dontroute", dontroute); v.field("oobinline", oobinline); v.field("no_check", no_check);
    v.field("priority", priority); v.field("mark", mark); v.field("rcvlowat", rcvlowat);
    v.field("passcred", passcred); v.field("passsec", passsec); v.field("timestamp", timestamp);
    v.field("timestampns", timestampns); v.field("timestamping", timestamping); v.field("rxq_ovfl", rxq_ovfl);
    v.field("wifi_status", wifi_status); v.field("peek_off", peek_off); v.field("busy_poll", busy_poll);
    v.field("select_err_queue", select_err_queue); v.field("zerocopy", zerocopy);
    v.field("lock_filter", lock_filter); v.field("linger_on", linger_on); v.field("linger_seconds", linger_seconds);
    v.field("rcvtimeo_us", rcvtimeo_us); v.field("sndtimeo_us", sndtimeo_us); v.field("bindtodevice", bindtodevice);
  }
};

// The options of `sock`, a descriptor of this process (for a target's socket:
// dup_target_fd). Unsupported if a socket filter is attached.
Result<SocketOptions> read_socket_options(int sock);

// Sets on `sock` every option of `saved` that differs from its current value. An option
// that cannot be set (or a buffer size not reached) is an error naming it (Unsupported
// where the reason is a missing privilege or limit).
Result<void> apply_socket_options(int sock, const SocketOptions& saved);

}  // namespace crest
