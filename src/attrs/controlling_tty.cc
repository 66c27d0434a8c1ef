#include "attrs/controlling_tty.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "fds/fd_kind.h"
#include "sys/procfs.h"

namespace crest {

namespace {

// tty_nr is the kernel's old encoding of a device number (minor bits 0-7 and 20-31,
// major 8-19).
dev_t tty_nr_to_dev(uint64_t nr) { return makedev((nr >> 8) & 0xfff, (nr & 0xff) | ((nr >> 12) & 0xfff00)); }

}  // namespace

Result<void> ControllingTty::read(const ThreadProbe& probe, Record& rec) {
  if (!probe.leader) return {};
  auto f = CR_TRY(read_stat_fields(probe.pid));
  if (f.size() < 9) return Error::corrupt(format("short /proc/%d/stat", probe.pid));
  pid_t sid = std::stoi(f[6]);
  uint64_t tty = std::stoull(f[7]);
  if (sid != probe.pid || tty == 0) return {};
  rec.tty = tty;
  rec.foreground = std::stoi(f[8]);
  dev_t dev = tty_nr_to_dev(tty);
  for (int fd : CR_TRY(list_fds(probe.pid))) {
    struct stat st {};
    if (stat(format("/proc/%d/fd/%d", probe.pid, fd).c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == dev) {
      rec.fd = fd;
      break;
    }
  }
  return {};
}

Result<void> ControllingTty::restore(const RestoreTarget& target, const Record& rec) {
  if (rec.tty == 0 || getsid(target.pid) != target.pid) return {};  // in cr_restart's session
  const dev_t dev = tty_nr_to_dev(rec.tty);
  if (rec.fd < 0)
    return Error::unsupported(format("process %d: its controlling terminal (%u:%u) cannot be given back: the session "
                                     "leader holds no fd of it", target.saved_pid, major(dev), minor(dev)));
  RemoteSyscalls& sys = target.leader();
  auto r = sys.call("ioctl(TIOCSCTTY)", SYS_ioctl, {static_cast<uint64_t>(rec.fd), TIOCSCTTY, 0});
  if (!r) {
    // A terminal from outside the image (cr_restart's) is its own session's already.
    fprintf(stderr, "cr_restart: warning: process %d: fd %d cannot be its controlling terminal again (%s); it has none\n",
            target.pid, rec.fd, r.error().message().c_str());
    return {};
  }
  if (rec.foreground <= 0) return {};
  int32_t pgrp = rec.foreground;
  CR_TRY(sys.tracee().write_memory(target.scratch, &pgrp, sizeof pgrp));
  CR_TRY(sys.call("ioctl(TIOCSPGRP)", SYS_ioctl, {static_cast<uint64_t>(rec.fd), TIOCSPGRP, target.scratch}),
         "the foreground process group %d of process %d's terminal", pgrp, target.saved_pid);
  return {};
}

}  // namespace crest
