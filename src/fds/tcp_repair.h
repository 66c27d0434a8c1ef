// Established TCP connections, saved and made again with TCP_REPAIR (CAP_NET_ADMIN): the
// socket is put in repair mode through a duplicate of the target's descriptor, and its
// sequence numbers, both queues' bytes (peeked, nothing consumed), MSS, window scales,
// SACK and timestamps (TCP_INFO options, TCP_TIMESTAMP) and window (TCP_REPAIR_WINDOW)
// are read. At restart a new socket in repair mode gets the same queue sequence numbers,
// is bound and "connected" without a packet sent, gets its options, queues and window
// back, and leaves repair mode once every connection of the job exists (the two ends of
// a connection inside the job find each other).
//
// A socket stays in repair mode from its dump until the checkpoint ends (TcpRepairScope):
// a process killed after the checkpoint then closes it without a FIN or reset, so
// nothing reaches the peer and the same address and port are free for the restart; a
// process that runs on (or a failed checkpoint) has repair mode turned off again,
// without a window probe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "fds/inet_socket.h"

namespace crest {

struct TcpConnectionRecord {
  InetAddress peer;
  uint32_t send_seq = 0;   // the sequence number after the last byte queued to send (write_seq)
  uint32_t recv_seq = 0;   // the next sequence number expected (rcv_nxt)
  uint32_t mss = 0;        // TCP_MAXSEG
  uint32_t options = 0;    // TCP_INFO tcpi_options (TCPI_OPT_TIMESTAMPS, SACK, WSCALE)
  uint32_t snd_wscale = 0, rcv_wscale = 0;
  uint32_t timestamp = 0;  // TCP_TIMESTAMP
  uint32_t snd_wl1 = 0, snd_wnd = 0, max_window = 0, rcv_wnd = 0, rcv_wup = 0;  // TCP_REPAIR_WINDOW
  std::vector<uint8_t> send_queue;  // sent and not acknowledged, or not sent yet
  std::vector<uint8_t> recv_queue;  // received, not read by the process
  uint8_t peer_outside = 0;         // the peer is not in the image (--tcp-established)
  template <class V> void fields(V& v) {
    v.field("peer", peer); v.field("send_seq", send_seq); v.field("recv_seq", recv_seq); v.field("mss", mss);
    v.field("options", options); v.field("snd_wscale", snd_wscale); v.field("rcv_wscale", rcv_wscale);
    v.field("timestamp", timestamp); v.field("snd_wl1", snd_wl1); v.field("snd_wnd", snd_wnd);
    v.field("max_window", max_window); v.field("rcv_wnd", rcv_wnd); v.field("rcv_wup", rcv_wup);
    v.field("send_queue", send_queue); v.field("recv_queue", recv_queue); v.field("peer_outside", peer_outside);
  }
};

// For the length of one checkpoint: the sockets put in repair mode, kept open here.
// Its end turns repair mode off again, unless keep_for_kill() was called (the processes
// are killed: their sockets close silently).
class TcpRepairScope {
 public:
  // `outside_peers`: connections to peers outside the checkpoint may be saved
  // (cr_checkpoint --tcp-established).
  explicit TcpRepairScope(bool outside_peers);
  ~TcpRepairScope();
  TcpRepairScope(const TcpRepairScope&) = delete;
  TcpRepairScope& operator=(const TcpRepairScope&) = delete;
  void keep_for_kill() { keep_ = true; }
  // Turns repair mode off now: before the processes run again (a recv() they were in
  // would fail with EPERM on a socket in repair mode).
  void release();
  // Takes `sock` (already in repair mode) until the scope ends; false if no scope is
  // open (the caller then turns repair off itself).
  static bool hold(Fd& sock);
  static bool outside_peers_allowed();

 private:
  std::vector<Fd> held_;
  bool keep_ = false;
  bool outside_peers_ = false;
};

// Puts `sock` (a duplicate of an established connection) in repair mode and reads it.
// Unsupported without CAP_NET_ADMIN.
Result<TcpConnectionRecord> dump_tcp_connection(Fd sock);

// Makes `sock` (new, unbound) the connection `c` from `local`, in repair mode until
// leave_tcp_repair. Its buffers and SO_REUSEADDR are changed: the caller applies the
// saved socket options after.
Result<void> make_tcp_connection(int sock, const InetAddress& local, const TcpConnectionRecord& c);
Result<void> leave_tcp_repair(int sock);

}  // namespace crest
