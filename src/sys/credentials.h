// Thread credentials as /proc shows them, and their differences in words.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "records/credentials_record.h"

namespace crest {

// The numbers of an "Uid:"/"Gid:"/"Groups:" value of /proc/PID/status.
std::vector<uint32_t> parse_id_list(const std::string& s);

// Ids, groups and capability sets of thread `tid` of process `pid`, from
// /proc/PID/task/TID/status (securebits are not there: left 0).
Result<CredentialsRecord> read_thread_credentials(pid_t pid, pid_t tid);

// The name of capability `cap` ("cap_net_raw"), or "capability N".
std::string capability_name(int cap);
// "cap_chown,cap_kill" for the bits of `mask` ("none" when empty).
std::string capability_names(uint64_t mask);
// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap).
int last_capability();

// Every way `got` differs from `want`, one phrase each ("uids 0 0 0 0, saved 65534 65534
// 65534 65534"); securebits compared only when `with_securebits`.
std::vector<std::string> credential_differences(const CredentialsRecord& want, const CredentialsRecord& got,
                                                bool with_securebits);

}  // namespace crest
