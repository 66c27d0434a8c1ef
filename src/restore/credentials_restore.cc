// Credentials (docs/design.md, "Credentials" and "Trust"). Three jobs:
//   1. which ids the image may ask for: an image owned by root (or --trust-image-ids)
//      may restore any saved ids; one owned by another user only that user's, and no
//      capabilities; an ordinary cr_restart only gives its own, so saved ids that differ
//      are refused by name;
//   2. everything cr_restart does for a process (opens, binds, FIFOs, IPC) and what its
//      stub does before it runs (chdir, exec, the files it maps) happen with the rights
//      the process will have: cr_restart's thread switches its effective ids and groups
//      (ActingAs), a stub its filesystem ids and groups;
//   3. the saved credentials are given LAST, per thread, once every child and thread
//      exists (creating them with set_tid needs root's capabilities), with raw syscalls
//      injected into each thread (glibc's setuid() family is process-wide, the kernel's
//      calls are per thread), then read back and compared with the saved ones.
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <linux/securebits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "restore/restore_context.h"
#include "sys/credentials.h"

namespace crest {

namespace {

constexpr size_t kMaxGroups = 4096;  // what fits our scratch area with room to spare

bool restarter_is_root() { return geteuid() == 0; }

// The gids a user may hold without privilege: their primary group and the groups the
// group database gives them, and the image file's group.
std::set<uint32_t> gids_of_user(uid_t uid, gid_t file_gid) {
  std::set<uint32_t> out{file_gid};
  std::vector<char> buf(1 << 16);
  passwd pw{}, *found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || !found) return out;
  out.insert(pw.pw_gid);
  int n = 256;
  std::vector<gid_t> groups(n);
  if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(n);
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) n = 0;
  }
  for (int i = 0; i < n; ++i) out.insert(groups[i]);
  return out;
}

// An image owned by `owner` (not root, not trusted): each saved id must be the owner's.
Result<void> check_owned_by(const ProcessImage& image, const ThreadRecord& t, const struct stat& st,
                            const std::set<uint32_t>& gids, uint64_t inheritable_now) {
  const CredentialsRecord& c = t.creds;
  const char* hint = "only an image owned by root, or cr_restart --trust-image-ids, restores other ids";
  for (uint32_t uid : c.uids)
    if (uid != st.st_uid)
      return Error::os(format("process %d thread %d: saved uid %u is not the image owner's (uid %u); %s", image.process.pid, t.tid,
                              uid, static_cast<unsigned>(st.st_uid), hint), EPERM);
  for (const auto* list : {&c.gids, &c.groups})
    for (uint32_t gid : *list)
      if (!gids.count(gid))
        return Error::os(format("process %d thread %d: saved group %u is not one of the image owner's (uid %u); %s",
                                image.process.pid, t.tid, gid, static_cast<unsigned>(st.st_uid), hint), EPERM);
  uint64_t granted = c.cap_permitted | c.cap_effective | c.cap_ambient | (c.cap_inheritable & ~inheritable_now);
  if (granted)
    return Error::os(format("process %d thread %d: saved capabilities %s in an image owned by uid %u; %s", image.process.pid,
                            t.tid, capability_names(granted).c_str(), static_cast<unsigned>(st.st_uid), hint), EPERM);
  return {};
}

// An ordinary cr_restart gives every process its own ids and groups: saved ones that
// differ are refused (capabilities are compared once the process exists).
Result<void> check_restarter_gives(const ProcessImage& image, const ThreadRecord& t, const CredentialsRecord& mine) {
  CredentialsRecord want = t.creds, got = mine;
  want.cap_inheritable = want.cap_permitted = want.cap_effective = want.cap_bounding = want.cap_ambient = 0;
  got.cap_inheritable = got.cap_permitted = got.cap_effective = got.cap_bounding = got.cap_ambient = 0;
  auto diff = credential_differences(want, got, false);
  if (diff.empty()) return {};
  return Error::os(format("process %d thread %d: cr_restart as uid %u gives it %s (only root restores other ids)",
                          image.process.pid, t.tid, static_cast<unsigned>(mine.uids[1]), diff[0].c_str()), EPERM);
}

Result<uint64_t> call(RemoteSyscalls& sys, const char* name, long nr, std::initializer_list<uint64_t> args, pid_t tid) {
  auto r = sys.call(name, nr, args);
  if (!r) return r.error().context(format("restoring the credentials of thread %d", tid));
  return r;
}

Result<void> write_groups(const Tracee& t, uint64_t scratch, const std::vector<uint32_t>& groups) {
  if (groups.size() > kMaxGroups) return Error::unsupported(format("more than %zu supplementary groups", kMaxGroups));
  if (!groups.empty()) CR_TRY(t.write_memory(scratch, groups.data(), groups.size() * sizeof(uint32_t)));
  return {};
}

Result<void> set_capabilities(RemoteSyscalls& sys, const Tracee& t, uint64_t scratch, uint64_t inheritable, uint64_t permitted,
                              uint64_t effective) {
  __user_cap_header_struct head{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0] = {static_cast<uint32_t>(effective), static_cast<uint32_t>(permitted), static_cast<uint32_t>(inheritable)};
  data[1] = {static_cast<uint32_t>(effective >> 32), static_cast<uint32_t>(permitted >> 32), static_cast<uint32_t>(inheritable >> 32)};
  CR_TRY(t.write_memory(scratch, &head, sizeof head));
  CR_TRY(t.write_memory(scratch + 64, data, sizeof data));
  CR_TRY(call(sys, "capset", SYS_capset, {scratch, scratch + 64}, t.tid()));
  return {};
}

// As root, in this order: groups and gids; the bounding set is cut (needs CAP_SETPCAP);
// uids are taken with SECBIT_NO_SETUID_FIXUP set, so that the capabilities survive the
// change; then the saved inheritable/permitted/effective sets (CAP_SETPCAP kept for
// now), the ambient set, the saved securebits, and last the exact sets.
Result<void> give_saved(RemoteSyscalls& sys, const Tracee& t, uint64_t scratch, const CredentialsRecord& c) {
  const pid_t tid = t.tid();
  const uint64_t setpcap = 1ull << CAP_SETPCAP;
  CR_TRY(write_groups(t, scratch, c.groups));
  CR_TRY(call(sys, "setgroups", SYS_setgroups, {c.groups.size(), scratch}, tid));
  CR_TRY(call(sys, "setresgid", SYS_setresgid, {c.gids[0], c.gids[1], c.gids[2]}, tid));
  CR_TRY(call(sys, "setfsgid", SYS_setfsgid, {c.gids[3]}, tid));
  CredentialsRecord now = CR_TRY(read_thread_credentials(tid, tid));
  if (c.cap_bounding & ~now.cap_bounding)
    return Error::os(format("thread %d: its saved bounding set has %s, which cr_restart's lacks", tid,
                            capability_names(c.cap_bounding & ~now.cap_bounding).c_str()), EPERM);
  if (c.cap_permitted & ~now.cap_permitted)
    return Error::os(format("thread %d: its saved permitted capabilities %s are not cr_restart's to give", tid,
                            capability_names(c.cap_permitted & ~now.cap_permitted).c_str()), EPERM);
  for (int cap = 0; cap <= last_capability(); ++cap)
    if ((now.cap_bounding & (1ull << cap)) && !(c.cap_bounding & (1ull << cap)))
      CR_TRY(call(sys, "prctl(PR_CAPBSET_DROP)", SYS_prctl, {PR_CAPBSET_DROP, static_cast<uint64_t>(cap)}, tid),
             "%s", capability_name(cap).c_str());
  CR_TRY(call(sys, "prctl(PR_SET_SECUREBITS)", SYS_prctl, {PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP}, tid));
  CR_TRY(call(sys, "setresuid", SYS_setresuid, {c.uids[0], c.uids[1], c.uids[2]}, tid));
  CR_TRY(call(sys, "setfsuid", SYS_setfsuid, {c.uids[3]}, tid));
  CR_TRY(set_capabilities(sys, t, scratch, c.cap_inheritable, c.cap_permitted | setpcap, c.cap_effective | setpcap));
  CR_TRY(call(sys, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", SYS_prctl, {PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0}, tid));
  for (int cap = 0; cap < 64; ++cap)
    if (c.cap_ambient & (1ull << cap))
      CR_TRY(call(sys, "prctl(PR_CAP_AMBIENT_RAISE)", SYS_prctl,
                  {PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<uint64_t>(cap), 0, 0}, tid),
             "%s", capability_name(cap).c_str());
  CR_TRY(call(sys, "prctl(PR_SET_SECUREBITS)", SYS_prctl, {PR_SET_SECUREBITS, c.securebits}, tid));
  CR_TRY(set_capabilities(sys, t, scratch, c.cap_inheritable, c.cap_permitted, c.cap_effective));
  return {};
}

// The raw-syscall ids of the calling thread.
struct ThreadIds {
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  std::vector<gid_t> groups;
};

ThreadIds thread_ids() {
  ThreadIds ids{};
  syscall(SYS_getresuid, &ids.ruid, &ids.euid, &ids.suid);
  syscall(SYS_getresgid, &ids.rgid, &ids.egid, &ids.sgid);
  int n = static_cast<int>(syscall(SYS_getgroups, 0, nullptr));
  ids.groups.resize(n > 0 ? n : 0);
  if (n > 0) syscall(SYS_getgroups, n, ids.groups.data());
  return ids;
}

}  // namespace

Result<void> check_saved_credentials(const std::vector<const ProcessImage*>& images, const RestoreOptions& options) {
  for (const ProcessImage* image : images)
    for (const ThreadRecord& t : image->threads)
      if (t.creds.uids.size() != 4 || t.creds.gids.size() != 4)
        return Error::corrupt(format("process %d thread %d: malformed saved credentials", image->process.pid, t.tid));
  if (!restarter_is_root()) {
    CredentialsRecord mine = CR_TRY(read_thread_credentials(getpid(), static_cast<pid_t>(syscall(SYS_gettid))));
    for (const ProcessImage* image : images)
      for (const ThreadRecord& t : image->threads) CR_TRY(check_restarter_gives(*image, t, mine));
    return {};
  }
  struct stat st {};
  if (options.image_owner) {
    st.st_uid = options.image_owner->first;
    st.st_gid = options.image_owner->second;
  } else if (fstat(options.in_fd, &st) != 0) {
    return Error::os("fstat of the image (whose owner decides which ids it may restore)");
  }
  if (st.st_uid == 0 || options.trust_image_ids) return {};
  const std::set<uint32_t> gids = gids_of_user(st.st_uid, st.st_gid);
  CredentialsRecord mine = CR_TRY(read_thread_credentials(getpid(), static_cast<pid_t>(syscall(SYS_gettid))));
  for (const ProcessImage* image : images)
    for (const ThreadRecord& t : image->threads) CR_TRY(check_owned_by(*image, t, st, gids, mine.cap_inheritable));
  return {};
}

const CredentialsRecord& acting_credentials(const ProcessImage& image) { return image.threads[0].creds; }

ActingAs::ActingAs(const CredentialsRecord& c) {
  if (!restarter_is_root() || c.uids.size() != 4 || c.gids.size() != 4) return;
  ThreadIds before = thread_ids();
  if (before.ruid != 0) return;  // no way back: act as we are
  const uid_t uid = c.uids[3];
  const gid_t gid = c.gids[3];
  std::vector<gid_t> groups(c.groups.begin(), c.groups.end());
  if (uid == before.euid && gid == before.egid && groups == before.groups) return;
  dumpable_ = prctl(PR_GET_DUMPABLE);
  // Raw syscalls: this thread only (the order: groups and gid need root's uid).
  if (syscall(SYS_setgroups, groups.size(), groups.data()) != 0 ||
      syscall(SYS_setresgid, static_cast<gid_t>(-1), gid, static_cast<gid_t>(-1)) != 0 ||
      syscall(SYS_setresuid, static_cast<uid_t>(-1), uid, static_cast<uid_t>(-1)) != 0) {
    failed_ = errno;
  }
  saved_groups_ = std::move(before.groups);
  saved_egid_ = before.egid;
  saved_euid_ = before.euid;
  active_ = true;
}

ActingAs::~ActingAs() {
  if (!active_) return;
  // Back to root's effective uid first: it brings back the effective capabilities.
  syscall(SYS_setresuid, static_cast<uid_t>(-1), saved_euid_, static_cast<uid_t>(-1));
  syscall(SYS_setresgid, static_cast<gid_t>(-1), saved_egid_, static_cast<gid_t>(-1));
  syscall(SYS_setgroups, saved_groups_.size(), saved_groups_.data());
  if (dumpable_ >= 0) prctl(PR_SET_DUMPABLE, dumpable_);
}

Result<void> ActingAs::check() const {
  if (failed_) return Error::os("taking the restored process's ids in cr_restart", failed_);
  return {};
}

RestarterRights::RestarterRights() {
  uid_t r, e, s;
  if (syscall(SYS_getresuid, &r, &e, &s) != 0 || e == 0 || (r != 0 && s != 0)) return;
  euid_ = e;
  active_ = syscall(SYS_setresuid, static_cast<uid_t>(-1), 0, static_cast<uid_t>(-1)) == 0;
}

RestarterRights::~RestarterRights() {
  if (active_) syscall(SYS_setresuid, static_cast<uid_t>(-1), euid_, static_cast<uid_t>(-1));
}

int act_as_natively(const CredentialsRecord& c) {
  if (c.uids.size() != 4 || c.gids.size() != 4 || c.groups.size() > kMaxGroups) return EINVAL;
  std::vector<gid_t> groups(c.groups.begin(), c.groups.end());
  if (syscall(SYS_setgroups, groups.size(), groups.data()) != 0) return errno;
  syscall(SYS_setfsgid, c.gids[3]);
  syscall(SYS_setfsuid, c.uids[3]);
  return 0;
}

Result<void> act_as_in_stub(RemoteSyscalls& sys, const Tracee& t, uint64_t scratch, const CredentialsRecord& c) {
  if (!restarter_is_root()) return {};
  CR_TRY(write_groups(t, scratch, c.groups));
  CR_TRY(call(sys, "setgroups", SYS_setgroups, {c.groups.size(), scratch}, t.tid()));
  CR_TRY(call(sys, "setfsgid", SYS_setfsgid, {c.gids[3]}, t.tid()));
  CR_TRY(call(sys, "setfsuid", SYS_setfsuid, {c.uids[3]}, t.tid()));
  return {};
}

Result<void> restore_thread_credentials(RemoteSyscalls& sys, const Tracee& t, uint64_t scratch, const CredentialsRecord& want) {
  if (restarter_is_root()) CR_TRY(give_saved(sys, t, scratch, want));
  // The one securebit any process may set itself (PR_SET_KEEPCAPS needs no capability).
  else if (want.securebits & SECBIT_KEEP_CAPS)
    CR_TRY(call(sys, "prctl(PR_SET_KEEPCAPS)", SYS_prctl, {PR_SET_KEEPCAPS, 1}, t.tid()));
  CredentialsRecord got = CR_TRY(read_thread_credentials(t.tid(), t.tid()));
  got.securebits = static_cast<uint32_t>(CR_TRY(call(sys, "prctl(PR_GET_SECUREBITS)", SYS_prctl, {PR_GET_SECUREBITS}, t.tid())));
  auto diff = credential_differences(want, got, true);
  if (!diff.empty()) {
    std::string all;
    for (auto& d : diff) all += (all.empty() ? "" : "; ") + d;
    return Error::unsupported(format("thread %d cannot get its saved credentials back (%s): it would run with %s",
                                     t.tid(), restarter_is_root() ? "as root" : "without privileges", all.c_str()));
  }
  return {};
}

}  // namespace crest
