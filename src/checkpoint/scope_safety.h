// The refusals that keep a checkpoint from taking the machine down (docs/design.md,
// "Scopes refused before anything is done"). They only read /proc, and run before any
// process of the scope is signalled or frozen.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <vector>

#include "base/result.h"
#include "checkpoint/checkpointer.h"

namespace crest {

// The errno of a refused scope: cr_checkpoint's exit code (125) and the errno a libcr
// requester gets. ECANCELED, which no other failure of a checkpoint produces.
inline constexpr int kErrUnsafeScope = ECANCELED;

// Refuses, with kErrUnsafeScope and a message naming the process, a scope (`members`, as
// scope_members() lists it) that holds:
//  - a kernel thread (PF_KTHREAD): it has no user space to save and cannot be traced;
//  - the init of cr_checkpoint's own pid namespace, unless opt.allow_init: freezing it
//    stalls everything that waits for it, and killing it ends every process of the
//    namespace. The init of a child namespace (a container's) is allowed;
//  - when the after-action or the early signal would kill or stop processes, an
//    ancestor of cr_checkpoint or of the requesting process (the shell that started it).
//    Checkpointing one's own shell and letting it run on (BLCR's self-checkpoint) is fine,
//    and so is the end of the process that asks for it naming itself: the requesting
//    process of a libcr request, or cr_checkpoint's parent as the --tree/--pid target
//    (`cr_checkpoint --kill --tree $$` in a script).
// A member that has exited meanwhile is passed over.
Result<void> check_scope_safety(const std::vector<pid_t>& members, const CheckpointOptions& opt);

// Whether sig, with its default action, ends or stops a process: every signal but
// SIGCONT, SIGCHLD, SIGURG and SIGWINCH.
bool signal_kills_or_stops(int sig);

}  // namespace crest
