// The units, in restore order, and the glue that gives each its own record type.
#include "attrs/attribute_table.h"

#include <sys/syscall.h>

#include "attrs/child_subreaper.h"
#include "attrs/controlling_tty.h"
#include "attrs/dumpable.h"
#include "attrs/loginuid.h"
#include "attrs/membarrier.h"
#include "attrs/no_new_privs.h"
#include "attrs/oom_score_adj.h"
#include "attrs/pdeathsig.h"
#include "attrs/posix_timers.h"
#include "attrs/scheduling.h"
#include "attrs/seccomp.h"
#include "attrs/thp_disable.h"
#include "attrs/timer_slack.h"
#include "attrs/unsupported_state.h"
#include "base/format.h"
#include "image/codec.h"

namespace crest {

namespace {

struct AttributeOps {
  uint32_t id;
  const char* name;
  Result<void> (*read)(const ThreadProbe&, std::any& record);
  std::vector<uint8_t> (*encode)(const std::any& record);
  Result<void> (*restore)(const RestoreTarget&, const std::vector<uint8_t>& record);
  Result<void> (*print)(const std::vector<uint8_t>& record, std::string& out, int indent);
};

template <class Unit>
AttributeOps ops() {
  using Record = typename Unit::Record;
  return {Unit::kId, Unit::kName,
          [](const ThreadProbe& probe, std::any& record) -> Result<void> {
            if (!record.has_value()) record = Record{};
            return Unit::read(probe, std::any_cast<Record&>(record));
          },
          [](const std::any& record) { return encode_record(std::any_cast<const Record&>(record)); },
          [](const RestoreTarget& target, const std::vector<uint8_t>& bytes) -> Result<void> {
            Record r = CR_TRY(decode_record<Record>(bytes, Unit::kName));
            return Unit::restore(target, r);
          },
          [](const std::vector<uint8_t>& bytes, std::string& out, int indent) -> Result<void> {
            Record r = CR_TRY(decode_record<Record>(bytes, Unit::kName));
            Printer p(out, indent);
            r.fields(p);
            return {};
          }};
}

// Restore order: scheduling before the timer slack (a real-time policy zeroes the slack);
// oom_score_adj before dumpable (a non-dumpable process's /proc files are root's);
// POSIX timers late, so that they are armed shortly before the process runs;
// the controlling terminal once every process of the session has its group;
// no_new_privs, then seccomp last (installing a filter without CAP_SYS_ADMIN needs
// no_new_privs; the filter may forbid what units after it would inject).
const std::vector<AttributeOps>& table() {
  static const std::vector<AttributeOps> units = {
      ops<Scheduling>(), ops<TimerSlack>(),     ops<OomScoreAdj>(), ops<LoginUid>(),
      ops<Membarrier>(), ops<ThpDisable>(),     ops<ChildSubreaper>(), ops<ParentDeathSignal>(),
      ops<PosixTimers>(),    ops<Dumpable>(),       ops<ControllingTty>(),  ops<NoNewPrivs>(),
      ops<Seccomp>(),
  };
  return units;
}

// Ids of units that are gone; never reused. An image that holds one still restores: what
// the unit kept is restored by another part now.
struct RetiredUnit {
  uint32_t id;
  const char* name;
  const char* now;
};
constexpr RetiredUnit kRetired[] = {
    {9, "keepcaps", "SECBIT_KEEP_CAPS is restored with the credentials (credentials_restore.cc)"},
};

const RetiredUnit* retired(uint32_t id) {
  for (const RetiredUnit& r : kRetired)
    if (r.id == id) return &r;
  return nullptr;
}

}  // namespace

Result<void> AttributesDump::read_thread(const ThreadProbe& probe) {
  for (const AttributeOps& unit : table()) CR_TRY(unit.read(probe, records_[unit.id]), "attribute %s", unit.name);
  return {};
}

AttributesRecord AttributesDump::record() const {
  AttributesRecord out;
  for (const AttributeOps& unit : table()) {
    auto it = records_.find(unit.id);
    if (it != records_.end() && it->second.has_value()) out.attributes.push_back({unit.id, unit.encode(it->second)});
  }
  return out;
}

Result<void> restore_attributes(const RestoreTarget& target, const AttributesRecord& saved) {
  for (const AttributeRecord& a : saved.attributes) {
    bool known = false;
    for (const AttributeOps& unit : table()) known = known || unit.id == a.unit;
    if (!known && !retired(a.unit)) return Error::incompatible(format("the image holds process attribute unit %u, which this crest does not know", a.unit));
  }
  for (const AttributeOps& unit : table())
    for (const AttributeRecord& a : saved.attributes)
      if (a.unit == unit.id) CR_TRY(unit.restore(target, a.record), "restoring %s", unit.name);
  return {};
}

Result<void> print_attributes(const AttributesRecord& saved, std::string& out, int indent) {
  for (const AttributeRecord& a : saved.attributes) {
    const AttributeOps* unit = nullptr;
    for (const AttributeOps& u : table())
      if (u.id == a.unit) unit = &u;
    if (!unit && retired(a.unit)) {
      out += format("%*s%s: (retired unit %u, not read: %s)\n", indent * 2, "", retired(a.unit)->name, a.unit, retired(a.unit)->now);
      continue;
    }
    if (!unit) return Error::corrupt(format("process attribute unit %u is not one this crest knows", a.unit));
    out += format("%*s%s:\n", indent * 2, "", unit->name);
    CR_TRY(unit->print(a.record, out, indent + 1), "attribute %s", unit->name);
  }
  return {};
}

Result<uint64_t> ThreadProbe::prctl_value(const char* name, int option) const {
  return sys.call(name, SYS_prctl, {static_cast<uint64_t>(option)});
}

Result<int32_t> ThreadProbe::prctl_int(const char* name, int option) const {
  int32_t value = 0;
  CR_TRY(sys.tracee().write_memory(scratch, &value, sizeof value));
  CR_TRY(sys.call(name, SYS_prctl, {static_cast<uint64_t>(option), scratch}));
  CR_TRY(sys.tracee().read_memory(scratch, &value, sizeof value));
  return value;
}

Result<void> ThreadProbe::refuse(const std::string& what) const {
  std::string who = pid == tid ? format("process %d", pid) : format("thread %d of process %d", tid, pid);
  return refuse_unsupported(who + ": " + what, skip_unsupported);
}

const RestoreThread* RestoreTarget::thread(pid_t saved_tid) const {
  for (const RestoreThread& t : threads)
    if (t.saved_tid == saved_tid) return &t;
  return nullptr;
}

}  // namespace crest
