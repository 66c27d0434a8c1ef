#include "attrs/loginuid.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <fcntl.h>

#include <cstdlib>
#include <string>

#include "sys/io.h"

#include "base/format.h"

namespace crest {
namespace {
Result<void> write_loginuid(RemoteSyscalls& sys, uint64_t scratch, uint32_t uid) {
  const char path[] = "/proc/thread-self/loginuid";
  std::string value = std::to_string(uid);
  CR_TRY(sys.tracee().write_memory(scratch, path, sizeof path));
  CR_TRY(sys.tracee().write_memory(scratch + 64, value.data(), value.size()));
  uint64_t fd = CR_TRY(sys.call("openat(/proc/thread-self/loginuid)", SYS_openat,
                                {static_cast<uint64_t>(AT_FDCWD), scratch, O_WRONLY | O_CLOEXEC}));
  auto w = sys.call("write(loginuid)", SYS_write, {fd, scratch + 64, value.size()});
  CR_TRY(sys.call("close", SYS_close, {fd}));
  if (!w) return w.error();
  return {};
}
}  // namespace
}  // namespace crest


namespace crest {

Result<void> LoginUid::read(const ThreadProbe& probe, Record& rec) {
  auto text = read_text_file(format("/proc/%d/task/%d/loginuid", probe.pid, probe.tid));
  if (!text) return {};  // a kernel without audit: nothing to keep
  rec.add(probe, static_cast<uint32_t>(std::strtoul(text->c_str(), nullptr, 10)));
  return {};
}

Result<void> LoginUid::restore(const RestoreTarget& target, const Record& rec) {
  return rec.restore_each(target, kName, [&](const RestoreThread& t, uint32_t uid) -> Result<void> {
    auto now = CR_TRY(read_text_file(format("/proc/%d/task/%d/loginuid", target.pid, t.tid)));
    if (static_cast<uint32_t>(std::strtoul(now.c_str(), nullptr, 10)) == uid) return {};
    auto written = write_loginuid(*t.sys, target.scratch, uid);
    if (!written)
      return written.error().context(format("loginuid %u cannot be restored (it takes CAP_AUDIT_CONTROL, that is cr_restart as root)", uid));
    return {};
  });
}

}  // namespace crest
