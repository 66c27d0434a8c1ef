// The initialisers behind cr_initialize_checkpoint_args_t / cr_initialize_restart_args_t:
// a caller compiled against an older header still gets sane values for every field the
// library knows (BLCR-API.md 1.6, 1.9).
#include <libcr.h>

extern "C" {

int cri_init_checkpoint_args_t(cr_version_t version, cr_checkpoint_args_t* args) {
  args->cr_version = version;
  switch (version) {
    case 1:
      args->cr_scope = static_cast<cr_scope_t>(-1);  // invalid: the caller must choose
      args->cr_target = 0;                           // the caller itself
      args->cr_fd = -1;                              // invalid: the caller must choose
      args->cr_signal = 0;
      args->cr_timeout = 0;                          // unbounded
      args->cr_flags = 0;
      return 0;
    default:
      errno = EINVAL;
      return -1;
  }
}

int cri_init_restart_args_t(cr_version_t version, cr_restart_args_t* args) {
  args->cr_version = version;
  switch (version) {
    case 1:
      args->cr_fd = -1;
      args->cr_signal = 0;
      args->cr_flags = CR_RSTRT_RESTORE_PID;
      args->cr_relocate = nullptr;
      return 0;
    default:
      errno = EINVAL;
      return -1;
  }
}

}  // extern "C"
