// What a callback may ask about the checkpoint it serves (BLCR-API.md 1.6, 1.7):
// cr_get_checkpoint_info(), cr_get_restart_info(), cr_forward_checkpoint().
#include <errno.h>
#include <string.h>

#include "engine.h"

using namespace crest::libcr;

extern "C" {

// Valid inside a callback before its cr_checkpoint() (from the Request), NULL otherwise.
const struct cr_checkpoint_info* cr_get_checkpoint_info(void) {
  ThreadState* self = current();
  if (!self || !self->level || self->level->called) return nullptr;
  return &g.checkpoint_info;
}

// Valid inside a callback after its cr_checkpoint() returned > 0 (a restart).
const struct cr_restart_info* cr_get_restart_info(void) {
  ThreadState* self = current();
  if (!self || !self->level || !self->level->called || self->value <= 0) return nullptr;
  return &g.restart_info;
}

int cr_forward_checkpoint(cr_scope_t scope, pid_t target) {
  ThreadState* self = current();
  if (!self || !self->level) {
    errno = CR_ENOTCB;
    return -1;
  }
  proto::Forward fwd = {};
  fwd.magic = proto::kMagic;
  fwd.type = proto::kForward;
  fwd.scope = static_cast<int32_t>(scope);
  fwd.target = target;
  proto::ForwardReply reply = {};
  int got = -1;
  {
    // Several threads' callbacks may forward at once; one question at a time on the channel.
    SignalBlock block(false);
    g.forward_lock.lock();
    if (channel_send(g.channel, &fwd, sizeof fwd)) got = channel_recv(g.channel, &reply, sizeof reply);
    g.forward_lock.unlock();
  }
  if (got != sizeof reply || reply.magic != proto::kMagic || reply.type != proto::kForwardReply) {
    errno = EIO;
    return -1;
  }
  if (reply.err != 0) {
    errno = reply.err;
    return -1;
  }
  return 0;
}

}  // extern "C"
