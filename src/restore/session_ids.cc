// Process groups and sessions at restart (session_ids.h).
//
// Linux names a session after its leader's pid and a group after its first member's, a
// process joins a session only by being forked inside it, and a group never spans two
// sessions. So, of BLCR's eight RESTORE_{PID,PGID,SID} combinations:
//   - without RESTORE_PGID/SID: every process is in cr_restart's group and session;
//   - RESTORE_PGID: a group whose leader is in the image is made by the leader and
//     joined by the others (with RESTORE_PID only: without it the group would be named
//     after the leader's new pid); cr_restart's own group is kept as it is;
//   - RESTORE_SID: a leader in the image calls setsid() and its descendants inherit the
//     session (with RESTORE_PID only); a session whose leader is outside the image is
//     possible only when it is cr_restart's own; and only with RESTORE_PGID unless it is
//     cr_restart's session (a process in another session cannot stay in cr_restart's
//     group, and a session leader's group is its own).
#include "restore/session_ids.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <set>

#include "base/format.h"

namespace crest {

namespace {

Error refused(std::string why) { return Error::os(std::move(why), EBUSY); }

}  // namespace

Result<void> check_session_options(const std::vector<const ProcessImage*>& images, const RestoreOptions& options) {
  const pid_t my_pgid = getpgid(0), my_sid = getsid(0);
  std::set<pid_t> in_image;
  for (auto* im : images) in_image.insert(im->process.pid);
  for (auto* im : images) {
    const ProcessRecord& rec = im->process;
    if (options.restore_sid && rec.sid > 0 && rec.sid != my_sid) {
      if (!options.restore_pgid)
        return refused(format("process %d was in session %d, not cr_restart's: in another session it cannot stay in "
                              "cr_restart's process group (Linux keeps a group inside one session); add --restore-pgid",
                              rec.pid, rec.sid));
      if (!in_image.count(rec.sid))
        return refused(format("session %d of process %d cannot be restored: its leader is not in the image and it is "
                              "not cr_restart's session (a process joins a session only by being forked in it)",
                              rec.sid, rec.pid));
      if (!options.restore_pid)
        return refused(format("session %d of process %d cannot keep its id with --no-restore-pid: a session is named "
                              "after its leader's pid", rec.sid, rec.pid));
    }
    if (options.restore_pgid && rec.pgid > 0 && rec.pgid != my_pgid) {
      if (in_image.count(rec.pgid) && !options.restore_pid)
        return refused(format("process group %d of process %d cannot keep its id with --no-restore-pid: a group is "
                              "named after its leader's pid", rec.pgid, rec.pid));
      bool new_session = options.restore_sid && rec.sid == rec.pgid;  // made anew by setsid
      if (!new_session && (::kill(-rec.pgid, 0) == 0 || errno == EPERM))
        return refused(format("process group %d is in use by processes outside the image; restart without "
                              "--restore-pgid to join cr_restart's group", rec.pgid));
    }
  }
  return {};
}

Result<void> restore_session_and_group(StubSession& s, const ProcessRecord& rec, const RestoreOptions& options) {
  const pid_t pid = s.tracee.tid();
  const bool own_session = options.restore_sid && rec.sid == rec.pid;
  if (own_session) {
    auto r = s.sys.call("setsid", SYS_setsid);
    if (!r) return r.error().context(format("making %d a session leader again", pid));
  } else if (options.restore_pgid && rec.pgid > 0 && rec.pgid != getpgid(0)) {
    auto r = s.sys.call("setpgid", SYS_setpgid, {0, static_cast<uint64_t>(rec.pgid == rec.pid ? 0 : rec.pgid)});
    if (!r)
      return refused(format("process group %d cannot be restored (its leader is not in the image, or it belongs to "
                            "another session)", rec.pgid));
  }
  // Read back: what the options asked for, or the restart fails naming the difference.
  const pid_t want_sid = options.restore_sid && rec.sid > 0 ? rec.sid : getsid(0);
  const pid_t want_pgid = options.restore_pgid && rec.pgid > 0 ? rec.pgid : getpgid(0);
  const pid_t sid = getsid(pid), pgid = getpgid(pid);
  if (sid != want_sid)
    return refused(format("session %d of process %d cannot be restored: it came back in session %d (a process joins a "
                          "session only by being forked in it)", want_sid, rec.pid, sid));
  if (pgid != want_pgid)
    return refused(format("process group %d of process %d cannot be restored: it came back in group %d", want_pgid,
                          rec.pid, pgid));
  return {};
}

}  // namespace crest
