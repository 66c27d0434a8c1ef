// One check per kind of state, each listing what it finds (one line each); the table at
// the end is what check_unsupported_state walks.
#include "attrs/unsupported_state.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "base/format.h"
#include "checkpoint/cooperate.h"
#include "sys/io.h"

namespace crest {

namespace {

struct Subject {
  pid_t pid;
  const std::vector<pid_t>& threads;
  const std::vector<MapsEntry>& maps;
};

// io_setup rings are mapped as "/[aio] (deleted)".
Result<std::vector<std::string>> aio_contexts(const Subject& s) {
  std::vector<std::string> out;
  for (const MapsEntry& m : s.maps)
    if (m.path.rfind("/[aio]", 0) == 0)
      out.push_back(format("AIO context (io_setup) at %llx", static_cast<unsigned long long>(m.start)));
  return out;
}

// unshare(CLONE_NEWTIME) leaves the namespace for the process's children pending.
Result<std::vector<std::string>> pending_time_namespace(const Subject& s) {
  std::vector<std::string> out;
  auto now = read_link(format("/proc/%d/ns/time", s.pid));
  auto children = read_link(format("/proc/%d/ns/time_for_children", s.pid));
  if (now && children && *now != *children)
    out.push_back(format("a pending time namespace for its children (%s; it is in %s)", children->c_str(), now->c_str()));
  return out;
}

struct Check {
  const char* name;
  Result<std::vector<std::string>> (*find)(const Subject&);
};

constexpr Check kChecks[] = {
    {"AIO contexts", aio_contexts},
    {"time namespace", pending_time_namespace},
};

}  // namespace

Result<void> refuse_unsupported(const std::string& what, bool skip_unsupported) {
  if (!skip_unsupported) return Error::unsupported(what + " is not restored by crest (--skip-unsupported leaves it out)");
  warn(format("leaving out %s (--skip-unsupported): it will not be there after a restart", what.c_str()));
  return {};
}

Result<void> check_unsupported_state(pid_t pid, const std::vector<pid_t>& threads, const std::vector<MapsEntry>& maps,
                                     bool skip_unsupported) {
  Subject s{pid, threads, maps};
  for (const Check& c : kChecks) {
    std::vector<std::string> found = CR_TRY(c.find(s), "looking for %s", c.name);
    for (const std::string& what : found) CR_TRY(refuse_unsupported(format("process %d: %s", pid, what.c_str()), skip_unsupported));
  }
  return {};
}

}  // namespace crest
