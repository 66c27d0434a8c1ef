#include "sys/credentials.h"

#include <cstdlib>
#include <sstream>

#include "base/format.h"
#include "sys/io.h"
#include "sys/procfs.h"

namespace crest {

namespace {

uint64_t parse_mask(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 16); }

std::string join(const std::vector<uint32_t>& ids) {
  if (ids.empty()) return "none";
  std::string out;
  for (uint32_t id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  return out;
}

const char* const kCapabilityNames[] = {
    "cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid", "cap_kill", "cap_setgid",
    "cap_setuid", "cap_setpcap", "cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast", "cap_net_admin",
    "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot",
    "cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice", "cap_sys_resource",
    "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease", "cap_audit_write", "cap_audit_control",
    "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm", "cap_block_suspend",
    "cap_audit_read", "cap_perfmon", "cap_bpf", "cap_checkpoint_restore"};

}  // namespace

std::vector<uint32_t> parse_id_list(const std::string& s) {
  std::vector<uint32_t> out;
  std::istringstream in(s);
  uint64_t v;
  while (in >> v) out.push_back(static_cast<uint32_t>(v));
  return out;
}

Result<CredentialsRecord> read_thread_credentials(pid_t pid, pid_t tid) {
  auto text = CR_TRY(read_text_file(format("/proc/%d/task/%d/status", pid, tid)));
  ProcStatus status{std::move(text)};
  CredentialsRecord c;
  c.uids = parse_id_list(status.get("Uid"));
  c.gids = parse_id_list(status.get("Gid"));
  c.groups = parse_id_list(status.get("Groups"));
  if (c.uids.size() != 4 || c.gids.size() != 4)
    return Error::corrupt(format("/proc/%d/task/%d/status has no Uid/Gid lines of four ids", pid, tid));
  c.cap_inheritable = parse_mask(status.get("CapInh"));
  c.cap_permitted = parse_mask(status.get("CapPrm"));
  c.cap_effective = parse_mask(status.get("CapEff"));
  c.cap_bounding = parse_mask(status.get("CapBnd"));
  c.cap_ambient = parse_mask(status.get("CapAmb"));
  return c;
}

std::string capability_name(int cap) {
  if (cap >= 0 && cap < static_cast<int>(std::size(kCapabilityNames))) return kCapabilityNames[cap];
  return format("capability %d", cap);
}

std::string capability_names(uint64_t mask) {
  std::string out;
  for (int cap = 0; cap < 64; ++cap)
    if (mask & (1ull << cap)) out += (out.empty() ? "" : ",") + capability_name(cap);
  return out.empty() ? "none" : out;
}

int last_capability() {
  auto text = read_text_file("/proc/sys/kernel/cap_last_cap");
  int last = text ? std::atoi(text->c_str()) : 0;
  return last > 0 && last < 64 ? last : 40;
}

std::vector<std::string> credential_differences(const CredentialsRecord& want, const CredentialsRecord& got,
                                                bool with_securebits) {
  std::vector<std::string> out;
  auto ids = [&](const char* what, const std::vector<uint32_t>& w, const std::vector<uint32_t>& g) {
    if (w != g) out.push_back(format("%s %s, saved %s", what, join(g).c_str(), join(w).c_str()));
  };
  ids("uids (real, effective, saved, fs)", want.uids, got.uids);
  ids("gids (real, effective, saved, fs)", want.gids, got.gids);
  ids("supplementary groups", want.groups, got.groups);
  auto caps = [&](const char* what, uint64_t w, uint64_t g) {
    if (w == g) return;
    std::string part;
    if (w & ~g) part += "lacks " + capability_names(w & ~g);
    if (g & ~w) part += std::string(part.empty() ? "" : " and ") + "has " + capability_names(g & ~w);
    out.push_back(format("%s capabilities: %s", what, part.c_str()));
  };
  caps("inheritable", want.cap_inheritable, got.cap_inheritable);
  caps("permitted", want.cap_permitted, got.cap_permitted);
  caps("effective", want.cap_effective, got.cap_effective);
  caps("bounding", want.cap_bounding, got.cap_bounding);
  caps("ambient", want.cap_ambient, got.cap_ambient);
  if (with_securebits && want.securebits != got.securebits)
    out.push_back(format("securebits %#x, saved %#x", got.securebits, want.securebits));
  return out;
}

}  // namespace crest
