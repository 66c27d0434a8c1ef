// BLCR's experimental restart-request API (BLCR-API.md 1.9). Not provided by crest yet:
// cr_restart is the way to restart. Every call fails with ENOSYS (the poll calls with
// CR_POLL_RSTRT_ERR_PRE), which is what BLCR's library returned without its module.
#include <libcr.h>

extern "C" {

int cr_request_restart(cr_restart_args_t*, cr_restart_handle_t* handle) {
  if (handle) *handle = static_cast<cr_restart_handle_t>(-1);
  errno = ENOSYS;
  return -1;
}

int cr_wait_restart(cr_restart_handle_t*, struct timeval*) {
  errno = ENOSYS;
  return -1;
}

int cr_log_restart(cr_restart_handle_t*, unsigned int, char*) {
  errno = ENOSYS;
  return -1;
}

int cr_reap_restart(cr_restart_handle_t*) {
  errno = ENOSYS;
  return -1;
}

int cr_poll_restart_msg(cr_restart_handle_t*, struct timeval*, char**) {
  errno = ENOSYS;
  return CR_POLL_RSTRT_ERR_PRE;
}

int cr_poll_restart(cr_restart_handle_t* handle, struct timeval* timeout) {
  return cr_poll_restart_msg(handle, timeout, nullptr);
}

}  // extern "C"
