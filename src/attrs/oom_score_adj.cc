#include "attrs/oom_score_adj.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "base/fd.h"
#include "sys/io.h"

#include "base/format.h"

namespace crest {

Result<void> OomScoreAdj::read(const ThreadProbe& probe, Record& rec) {
  if (!probe.leader) return {};
  auto text = CR_TRY(read_text_file(format("/proc/%d/oom_score_adj", probe.pid)));
  rec.value = static_cast<int32_t>(std::strtol(text.c_str(), nullptr, 10));
  return {};
}

Result<void> OomScoreAdj::restore(const RestoreTarget& target, const Record& rec) {
  const std::string path = format("/proc/%d/oom_score_adj", target.pid);
  auto now = CR_TRY(read_text_file(path));
  if (std::strtol(now.c_str(), nullptr, 10) == rec.value) return {};
  Fd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  std::string value = std::to_string(rec.value);
  if (!f.valid() || ::write(f.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return Error::os(format("writing oom_score_adj %d of process %d%s", rec.value, target.pid,
                            errno == EACCES ? " (lowering it below cr_restart's own needs CAP_SYS_RESOURCE)" : ""));
  return {};
}

}  // namespace crest
