// SysvIpcRecord: the System V semaphore sets and message queues the job uses
// (docs/design.md "System V semaphores and message queues" says which ones).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace crest {

struct SysvSemSetRecord {
  int32_t id = 0;
  int32_t key = 0;
  uint32_t mode = 0;               // permission bits
  uint32_t uid = 0, gid = 0;       // owner
  std::vector<uint32_t> values;    // semctl(GETALL), one per semaphore
  std::vector<int32_t> pids;       // semctl(GETPID) of each: the last process to operate on it
  template <class V> void fields(V& v) {
    v.field("id", id); v.field("key", key); v.field("mode", mode); v.field("uid", uid); v.field("gid", gid);
    v.field("values", values); v.field("pids", pids);
  }
};

struct SysvMessageRecord {
  int64_t type = 0;                // mtype
  std::vector<uint8_t> text;       // mtext
  template <class V> void fields(V& v) { v.field("type", type); v.field("text", text); }
};

struct SysvQueueRecord {
  int32_t id = 0;
  int32_t key = 0;
  uint32_t mode = 0;
  uint32_t uid = 0, gid = 0;
  uint64_t qbytes = 0;             // msg_qbytes: the queue's size limit
  int32_t lspid = 0, lrpid = 0;    // last sender and receiver (not restorable)
  std::vector<SysvMessageRecord> messages;  // in queue order
  template <class V> void fields(V& v) {
    v.field("id", id); v.field("key", key); v.field("mode", mode); v.field("uid", uid); v.field("gid", gid);
    v.field("qbytes", qbytes); v.field("lspid", lspid); v.field("lrpid", lrpid); v.field("messages", messages);
  }
};

struct SysvIpcRecord {
  std::vector<SysvSemSetRecord> sem_sets;
  std::vector<SysvQueueRecord> queues;
  template <class V> void fields(V& v) { v.field("sem_sets", sem_sets); v.field("queues", queues); }
};

}  // namespace crest
