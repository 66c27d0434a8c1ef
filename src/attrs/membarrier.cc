#include "attrs/membarrier.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base/format.h"

namespace crest {
namespace {
// linux/membarrier.h (Debian 12's headers lack the newest).
constexpr uint32_t kGlobalExpedited = 1u << 2;   // MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED
constexpr uint32_t kPrivateExpedited = 1u << 4;  // MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
constexpr uint32_t kSyncCore = 1u << 6;          // MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE
constexpr uint32_t kRseq = 1u << 8;              // MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ
constexpr uint32_t kKnown = kGlobalExpedited | kPrivateExpedited | kSyncCore | kRseq;
constexpr uint64_t kGetRegistrations = 1u << 9;  // MEMBARRIER_CMD_GET_REGISTRATIONS
}  // namespace
}  // namespace crest


namespace crest {

Result<void> Membarrier::read(const ThreadProbe& probe, Record& rec) {
  if (!probe.leader) return {};
  auto got = probe.sys.call("membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS)", SYS_membarrier, {kGetRegistrations, 0, 0});
  if (!got) return {};
  rec.value = static_cast<uint32_t>(*got);
  if (rec.value & ~kKnown) CR_TRY(probe.refuse(format("membarrier registrations 0x%x are not restored", rec.value)));
  return {};
}

Result<void> Membarrier::restore(const RestoreTarget& target, const Record& rec) {
  for (uint32_t bit : {kGlobalExpedited, kPrivateExpedited, kSyncCore, kRseq})
    if (rec.value & bit)
      CR_TRY(target.leader().call("membarrier(REGISTER)", SYS_membarrier, {bit, 0, 0}), "registration 0x%x", bit);
  return {};
}

}  // namespace crest
