/* BLCR 0.8.6_b4's header values, struct sizes and field offsets (BLCR-API.md 1.2-1.5,
   1.10), compiled as C. Compile-time checks fail the build; the rest fail the run. */
#include <libcr.h>
#include <stddef.h>
#include <stdlib.h>

#include "check.h"

#define STR_(x) #x
#define STR(x) STR_(x)

_Static_assert(sizeof(cr_checkpoint_args_t) == 28, "cr_checkpoint_args_t is 28 bytes");
_Static_assert(offsetof(cr_checkpoint_args_t, cr_version) == 0, "");
_Static_assert(offsetof(cr_checkpoint_args_t, cr_scope) == 4, "");
_Static_assert(offsetof(cr_checkpoint_args_t, cr_target) == 8, "");
_Static_assert(offsetof(cr_checkpoint_args_t, cr_fd) == 12, "");
_Static_assert(offsetof(cr_checkpoint_args_t, cr_signal) == 16, "");
_Static_assert(offsetof(cr_checkpoint_args_t, cr_timeout) == 20, "");
_Static_assert(offsetof(cr_checkpoint_args_t, cr_flags) == 24, "");
_Static_assert(sizeof(cr_restart_args_t) == 24, "");
_Static_assert(offsetof(cr_restart_args_t, cr_fd) == 4, "");
_Static_assert(offsetof(cr_restart_args_t, cr_signal) == 8, "");
_Static_assert(offsetof(cr_restart_args_t, cr_flags) == 12, "");
_Static_assert(offsetof(cr_restart_args_t, cr_relocate) == 16, "");
_Static_assert(sizeof(struct cr_checkpoint_info) == 32, "");
_Static_assert(offsetof(struct cr_checkpoint_info, dest) == 8, "");
_Static_assert(offsetof(struct cr_checkpoint_info, requester) == 16, "");
_Static_assert(offsetof(struct cr_checkpoint_info, target) == 20, "");
_Static_assert(offsetof(struct cr_checkpoint_info, scope) == 24, "");
_Static_assert(sizeof(struct cr_restart_info) == 16, "");
_Static_assert(offsetof(struct cr_restart_info, src) == 8, "");
_Static_assert(sizeof(struct cr_chkpt_args) == 28, "");
_Static_assert(offsetof(struct cr_chkpt_args, dump_format) == 16, "");
_Static_assert(offsetof(struct cr_chkpt_args, flags) == 24, "");
_Static_assert(sizeof(struct cr_fwd_args) == 8, "");
_Static_assert(sizeof(struct cr_rstrt_args) == 24, "");
_Static_assert(offsetof(struct cr_rstrt_args, relocate) == 8, "");
_Static_assert(offsetof(struct cr_rstrt_args, flags) == 16, "");
_Static_assert(sizeof(struct cr_procs_tbl) == 8, "");
_Static_assert(sizeof(struct cr_chkpt_info) == 24, "");
_Static_assert(offsetof(struct cr_chkpt_info, dest) == 16, "");
_Static_assert(sizeof(struct cr_log_args) == 16, "");
_Static_assert(sizeof(struct cr_rstrt_relocate_pair) == 16, "");
_Static_assert(sizeof(struct cr_rstrt_relocate) == 8, "");
_Static_assert(sizeof(cr_checkpoint_handle_t) == sizeof(unsigned long), "");
_Static_assert(sizeof(cr_restart_handle_t) == sizeof(unsigned long), "");
_Static_assert(sizeof(cr_bool_t) == sizeof(long), "");
_Static_assert(sizeof(cr_spinlock_t) == sizeof(unsigned int), "");


/* Every function of section 1 is declared with BLCR's signature (unevaluated: this
   program does not need the library). */
#define SIGNATURE(fn, type) \
  _Static_assert(__builtin_types_compatible_p(__typeof__(&fn), type), #fn " has BLCR's signature")
SIGNATURE(cr_init, cr_client_id_t (*)(void));
SIGNATURE(cri_init_checkpoint_args_t, int (*)(cr_version_t, cr_checkpoint_args_t *));
SIGNATURE(cri_init_restart_args_t, int (*)(cr_version_t, cr_restart_args_t *));
SIGNATURE(cr_request_checkpoint, int (*)(cr_checkpoint_args_t *, cr_checkpoint_handle_t *));
SIGNATURE(cr_forward_checkpoint, int (*)(cr_scope_t, pid_t));
SIGNATURE(cr_wait_checkpoint, int (*)(cr_checkpoint_handle_t *, struct timeval *));
SIGNATURE(cr_log_checkpoint, int (*)(cr_checkpoint_handle_t *, unsigned int, char *));
SIGNATURE(cr_reap_checkpoint, int (*)(cr_checkpoint_handle_t *));
SIGNATURE(cr_poll_checkpoint_msg, int (*)(cr_checkpoint_handle_t *, struct timeval *, char **));
SIGNATURE(cr_poll_checkpoint, int (*)(cr_checkpoint_handle_t *, struct timeval *));
SIGNATURE(cr_request_restart, int (*)(cr_restart_args_t *, cr_restart_handle_t *));
SIGNATURE(cr_wait_restart, int (*)(cr_restart_handle_t *, struct timeval *));
SIGNATURE(cr_log_restart, int (*)(cr_restart_handle_t *, unsigned int, char *));
SIGNATURE(cr_reap_restart, int (*)(cr_restart_handle_t *));
SIGNATURE(cr_poll_restart_msg, int (*)(cr_restart_handle_t *, struct timeval *, char **));
SIGNATURE(cr_poll_restart, int (*)(cr_restart_handle_t *, struct timeval *));
SIGNATURE(cr_register_callback, cr_callback_id_t (*)(cr_callback_t, void *, int));
SIGNATURE(cr_replace_callback, int (*)(cr_callback_id_t, cr_callback_t, void *, int));
SIGNATURE(cr_replace_self, int (*)(cr_callback_t, void *, int));
SIGNATURE(cr_checkpoint, int (*)(int));
SIGNATURE(cr_get_checkpoint_info, const struct cr_checkpoint_info *(*)(void));
SIGNATURE(cr_get_restart_info, const struct cr_restart_info *(*)(void));
SIGNATURE(cr_enter_cs, int (*)(cr_client_id_t));
SIGNATURE(cr_tryenter_cs, int (*)(cr_client_id_t));
SIGNATURE(cr_leave_cs, int (*)(cr_client_id_t));
SIGNATURE(cr_status, int (*)(void));
SIGNATURE(cr_register_hook, cr_hook_fn_t (*)(cr_hook_event_t, cr_hook_fn_t));
SIGNATURE(cr_hold_ctrl, int (*)(int, int));
SIGNATURE(cr_inc_persist, int (*)(void));
SIGNATURE(cr_dec_persist, int (*)(void));
SIGNATURE(cr_spinlock_init, void (*)(cr_spinlock_t *));
SIGNATURE(cr_spinlock_lock, void (*)(cr_spinlock_t *));
SIGNATURE(cr_spinlock_unlock, void (*)(cr_spinlock_t *));
SIGNATURE(cr_spinlock_trylock, int (*)(cr_spinlock_t *));
SIGNATURE(cr_strerror, const char *(*)(int));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  /* _CR_DEPRECATED works */
SIGNATURE(cr_request, void (*)(void));
SIGNATURE(cr_request_file, void (*)(const char *));
SIGNATURE(cr_request_fd, void (*)(int));
#pragma GCC diagnostic pop
_Static_assert(__builtin_types_compatible_p(__typeof__(cr_link_me), int), "");
_Static_assert(__builtin_types_compatible_p(__typeof__(cri_signum), const int), "");
_Static_assert(__builtin_types_compatible_p(cr_callback_t, int (*)(void *)), "");
_Static_assert(__builtin_types_compatible_p(cr_hook_fn_t, void (*)(cr_hook_event_t)), "");
_Static_assert(__builtin_types_compatible_p(cr_version_t, int), "");
_Static_assert(__builtin_types_compatible_p(cr_client_id_t, int), "");
_Static_assert(__builtin_types_compatible_p(cr_callback_id_t, int), "");

int main(void) {
  /* 1.2 versions and misc */
  CHECK_EQ_INT(CR_RELEASE_MAJOR, 0);
  CHECK_EQ_INT(CR_RELEASE_MINOR, 8);
  CHECK_EQ_STR(STR(CR_RELEASE_PATCH), "6_b4");
  CHECK_EQ_STR(CR_RELEASE_VERSION, "0.8.6_b4");
  CHECK_EQ_INT(LIBCR_MAJOR, 0);
  CHECK_EQ_INT(LIBCR_MINOR, 5);
  CHECK_EQ_INT(LIBCR_PATCH, 5);
  CHECK_EQ_STR(LIBCR_VERSION, "0.5.5");
  CHECK_EQ_INT(CR_MODULE_MAJOR, 0);
  CHECK_EQ_INT(CR_MODULE_MINOR, 10);
  CHECK_EQ_INT(CR_MODULE_PATCH, 3);
  CHECK_EQ_STR(CR_MODULE_VERSION, "0.10.3");
  CHECK_EQ_INT(CR_SIGNUM, 64);
  CHECK_EQ_INT(CR_CHECKPOINT_ARGS_VERSION, 1);
  CHECK_EQ_INT(CR_RESTART_ARGS_VERSION, 1);
  CHECK_EQ_INT(CR_MAX_CALLBACKS, 0x1FFFFFF);
  CHECK_EQ_INT(CR_THREAD_CONTEXT, 0x4000000);
  CHECK_EQ_INT(CR_SIGNAL_CONTEXT, 0x2000000);
  CHECK_EQ_INT(CR_ID_CALLBACK, -1);
  CHECK_EQ_INT(CR_SPINLOCK_INITIALIZER, 0);
  CHECK(CR_HOOK_FN_ERROR == (cr_hook_fn_t)(~0UL));
  CHECK_EQ_INT(CR_DEST_CWD, -4096);
  CHECK_EQ_STR(CR_CTRL_FILE, "/proc/checkpoint/ctrl");
  CHECK_EQ_INT(CR_MAX_RSTRT_RELOC, 16);
  CHECK_EQ_INT(CR_RSTRT_RELOCATE_SIZE(3), 8 + 3 * 16);

  /* 1.3 enums */
  CHECK_EQ_INT(CR_SCOPE_PROC, 0);
  CHECK_EQ_INT(CR_SCOPE_PGRP, 1);
  CHECK_EQ_INT(CR_SCOPE_SESS, 2);
  CHECK_EQ_INT(CR_SCOPE_TREE, 3);
  CHECK_EQ_INT(cr_format_vmadump, 0);
  CHECK_EQ_INT(CR_STATE_IDLE, 0);
  CHECK_EQ_INT(CR_STATE_PENDING, 1);
  CHECK_EQ_INT(CR_STATE_ACTIVE, 2);
  CHECK_EQ_INT(CR_HOOK_CONT_SIGNAL_CONTEXT, 0);
  CHECK_EQ_INT(CR_HOOK_CONT_THREAD_CONTEXT, 1);
  CHECK_EQ_INT(CR_HOOK_CONT_NO_CALLBACKS, 2);
  CHECK_EQ_INT(CR_HOOK_RSTRT_SIGNAL_CONTEXT, 3);
  CHECK_EQ_INT(CR_HOOK_RSTRT_THREAD_CONTEXT, 4);
  CHECK_EQ_INT(CR_HOOK_RSTRT_NO_CALLBACKS, 5);
  CHECK_EQ_INT(CR_NUM_HOOKS, 6);
  CHECK_EQ_INT(CR_HOLD_SCOPE_THREAD, 0);
  CHECK_EQ_INT(CR_HOLD_SCOPE_INIT, 1);
  CHECK_EQ_INT(CR_HOLD_SCOPE_UNINIT, 2);
  CHECK_EQ_INT(CR_HOLD_READ, -1);
  CHECK_EQ_INT(CR_HOLD_NONE, 0);
  CHECK_EQ_INT(CR_HOLD_CONT, 1);
  CHECK_EQ_INT(CR_HOLD_RSTRT, 2);
  CHECK_EQ_INT(CR_HOLD_BOTH, 3);
  CHECK_EQ_INT(CR_HOLD_DFLT, 4);

  /* 1.4 flags */
  CHECK_EQ_INT(CR_CHECKPOINT_READY, 0);
  CHECK_EQ_INT(CR_CHECKPOINT_TEMP_FAILURE, 1);
  CHECK_EQ_INT(CR_CHECKPOINT_PERM_FAILURE, 2);
  CHECK_EQ_INT(CR_CHECKPOINT_OMIT, 4);
  CHECK_EQ_INT(_CR_CHECKPOINT_STUB, 0x4000);
  CHECK_EQ_INT(CR_CHECKPOINT_TEMP_FAILURE_CODE(7), 0x70001);
  CHECK_EQ_INT(CR_CHECKPOINT_PERM_FAILURE_CODE(0x7FFF), 0x7FFF0002);
  CHECK_EQ_INT(CR_CHECKPOINT_ABORT_MASK, 7);
  CHECK_EQ_INT(CR_CHKPT_PROHIBIT_SELF, 0x01);
  CHECK_EQ_INT(CR_CHKPT_PTRACED_ALLOW, 0x02);
  CHECK_EQ_INT(CR_CHKPT_PTRACED_SKIP, 0x04);
  CHECK_EQ_INT(CR_CHKPT_PTRACER_SKIP, 0x08);
  CHECK_EQ_INT(CR_CHKPT_ASYNC_ERR, 0x10);
  CHECK_EQ_INT(CR_CHKPT_DUMP_EXEC, 0x200);
  CHECK_EQ_INT(CR_CHKPT_DUMP_PRIVATE, 0x400);
  CHECK_EQ_INT(CR_CHKPT_DUMP_SHARED, 0x800);
  CHECK_EQ_INT(CR_CHKPT_DUMP_ALL, 0xE00);
  CHECK_EQ_INT(CR_CHKPT_REQUIRE_LIBCR, 0x1000);
  CHECK_EQ_INT(CR_RSTRT_ASYNC_ERR, 0x1);
  CHECK_EQ_INT(CR_RSTRT_RESTORE_PID, 0x2);
  CHECK_EQ_INT(CR_RSTRT_RESTORE_PGID, 0x4);
  CHECK_EQ_INT(CR_RSTRT_RESTORE_SID, 0x8);
  CHECK_EQ_INT(CR_POLL_CHKPT_ERR_PRE, -1);
  CHECK_EQ_INT(CR_POLL_CHKPT_ERR_POST, -2);
  CHECK_EQ_INT(CR_POLL_CHKPT_ERR_LOG, -3);
  CHECK_EQ_INT(CR_POLL_RSTRT_ERR_PRE, -1);
  CHECK_EQ_INT(CR_POLL_RSTRT_ERR_POST, -2);
  CHECK_EQ_INT(CR_POLL_RSTRT_ERR_LOG, -3);

  /* 1.5 error codes */
  CHECK_EQ_INT(CR_MIN_ERRCODE, 2353);
  CHECK_EQ_INT(CR_ETEMPFAIL, 2354);
  CHECK_EQ_INT(CR_EPERMFAIL, 2355);
  CHECK_EQ_INT(CR_ENOSUPPORT, 2356);
  CHECK_EQ_INT(CR_EVERSION, 2357);
  CHECK_EQ_INT(CR_EOMITTED, 2358);
  CHECK_EQ_INT(CR_EBADARCH, 2359);
  CHECK_EQ_INT(CR_EPTRACED, 2360);
  CHECK_EQ_INT(CR_EPTRACER, 2361);
  CHECK_EQ_INT(CR_ERSTRTABRT, 2362);
  CHECK_EQ_INT(CR_ERESTARTED, 2363);
  CHECK_EQ_INT(CR_ENOTCB, 2364);
  CHECK_EQ_INT(CR_ENOINIT, 2365);
  CHECK_EQ_INT(CR_MAX_ERRCODE, 2366);
  CHECK_EQ_INT(CR_ETEMPFAIL & 0xff, 50);
  CHECK_EQ_INT(CR_ENOINIT & 0xff, 61);

  /* The twice-included X-macro list: a second expansion gives the texts in order. */
  {
#define CR_ERROR_DEF(name, text) {name, text},
    static const struct { int code; const char *text; } list[] = {
#include <blcr_errcodes.h>
    };
    CHECK_EQ_INT(sizeof list / sizeof list[0], 12);
    CHECK_EQ_INT(list[0].code, CR_ETEMPFAIL);
    CHECK_EQ_STR(list[0].text, "Temporary error: checkpoint cancelled");
    CHECK_EQ_INT(list[11].code, CR_ENOINIT);
    CHECK_EQ_STR(list[11].text, "Calling thread has not called cr_init()");
#ifdef CR_ERROR_DEF
    CHECK(!"blcr_errcodes.h leaves CR_ERROR_DEF defined");
#endif
  }

  /* ioctl numbers of 1.10 (type 0xA1, the listed request numbers) */
  CHECK_EQ_INT(CR_IOCTL_BASE, 0xA1);
  CHECK_EQ_INT(_IOC_TYPE(CR_OP_HAND_CHKPT), 0xA1);
  CHECK_EQ_INT(_IOC_NR(CR_OP_HAND_CHKPT), 0x01);
  CHECK_EQ_INT(_IOC_NR(CR_OP_HAND_ABORT), 0x02);
  CHECK_EQ_INT(_IOC_NR(CR_OP_HAND_PHASE1), 0x05);
  CHECK_EQ_INT(_IOC_NR(CR_OP_HAND_SUSP), 0x06);
  CHECK_EQ_INT(_IOC_NR(CR_OP_HAND_PHASE2), 0x07);
  CHECK_EQ_INT(_IOC_NR(CR_OP_HAND_DONE), 0x08);
  CHECK_EQ_INT(_IOC_NR(CR_OP_HAND_SRC), 0x09);
  CHECK_EQ_INT(_IOC_NR(CR_OP_HAND_CHKPT_INFO), 0x0a);
  CHECK_EQ_INT(_IOC_NR(CR_OP_CHKPT_REQ), 0x10);
  CHECK_EQ_INT(_IOC_NR(CR_OP_CHKPT_REAP), 0x12);
  CHECK_EQ_INT(_IOC_NR(CR_OP_CHKPT_FWD), 0x13);
  CHECK_EQ_INT(_IOC_NR(CR_OP_CHKPT_LOG), 0x14);
  CHECK_EQ_INT(_IOC_NR(CR_OP_RSTRT_REQ), 0x20);
  CHECK_EQ_INT(_IOC_NR(CR_OP_RSTRT_REAP), 0x22);
  CHECK_EQ_INT(_IOC_NR(CR_OP_RSTRT_CHILD), 0x23);
  CHECK_EQ_INT(_IOC_NR(CR_OP_RSTRT_PROCS), 0x26);
  CHECK_EQ_INT(_IOC_NR(CR_OP_RSTRT_LOG), 0x27);
  CHECK_EQ_INT(_IOC_NR(CR_OP_VERSION), 0x30);

  return check_done("headers.c");
}
