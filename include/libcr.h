/*
 * libcr.h: the C API of BLCR 0.8.6_b4's libcr, as crest provides it.
 *
 * Names, values, layouts and semantics follow BLCR (/work/shared/docs/BLCR-API.md
 * section 1); docs/libcr.md says how crest serves them without a kernel module.
 * Link with -lcr (pkg-config --libs libcr).
 */
#ifndef _CRLIB_H
#define _CRLIB_H 1

#include <features.h>
#include <sys/select.h> /* struct timeval */
#include <errno.h>
#include <blcr_common.h>

__BEGIN_DECLS

/* libcr itself is built with -fvisibility=hidden; what is declared here is its API. */
#if defined(__GNUC__)
#  pragma GCC visibility push(default)
#endif

/* Versions of the argument structs (the library adapts to older callers). */
typedef int cr_version_t;
#define CR_CHECKPOINT_ARGS_VERSION 1
#define CR_RESTART_ARGS_VERSION 1

/* Most callbacks one context may hold. */
#define CR_MAX_CALLBACKS 0x1FFFFFF

typedef int (*cr_callback_t)(void *);
typedef int cr_client_id_t;     /* from cr_init() */
typedef int cr_callback_id_t;   /* from cr_register_callback() */
typedef unsigned int cr_spinlock_t;

/* What cr_get_checkpoint_info() reports. */
struct cr_checkpoint_info {
  int signal;           /* cr_signal of the request, 0 if none */
  const char *dest;     /* canonical path of the destination; ends in "/." for a
                           directory; "" when not in the file system */
  pid_t requester;      /* tgid of the requesting process */
  pid_t target;         /* as requested (0: the requester itself) */
  cr_scope_t scope;     /* as requested */
};

/* What cr_get_restart_info() reports. */
struct cr_restart_info {
  pid_t requester;      /* pid of the process that requested the restart */
  const char *src;      /* canonical path of the context file (as dest above) */
};

/* cr_status() */
enum {
  CR_STATE_IDLE,
  CR_STATE_PENDING,
  CR_STATE_ACTIVE
};

/* Arguments of cr_request_checkpoint(); initialise with cr_initialize_checkpoint_args_t.
   The field order is ABI. */
typedef struct cr_checkpoint_args {
  cr_version_t cr_version;
  cr_scope_t cr_scope;
  pid_t cr_target;
  int cr_fd;
  int cr_signal;
  unsigned int cr_timeout;   /* seconds, 0 = unbounded */
  unsigned int cr_flags;     /* CR_CHKPT_* */
} cr_checkpoint_args_t;

/* Arguments of cr_request_restart(); initialise with cr_initialize_restart_args_t. */
typedef struct cr_restart_args {
  cr_version_t cr_version;
  int cr_fd;
  int cr_signal;
  unsigned int cr_flags;     /* CR_RSTRT_* */
  struct cr_rstrt_relocate *cr_relocate;
} cr_restart_args_t;

/* Opaque request handles (descriptors underneath). */
typedef unsigned long cr_checkpoint_handle_t;
typedef unsigned long cr_restart_handle_t;

/* Context of a callback: exactly one of these in the flags of cr_register_callback(). */
#define CR_THREAD_CONTEXT 0x4000000
#define CR_SIGNAL_CONTEXT 0x2000000

/* Client id to pass to cr_enter_cs() and friends inside callbacks. */
#define CR_ID_CALLBACK ((cr_client_id_t)(-1))

#define CR_SPINLOCK_INITIALIZER 0U

/* Events of cr_register_hook(). */
typedef enum {
  CR_HOOK_CONT_SIGNAL_CONTEXT = 0,
  CR_HOOK_CONT_THREAD_CONTEXT,
  CR_HOOK_CONT_NO_CALLBACKS,
  CR_HOOK_RSTRT_SIGNAL_CONTEXT,
  CR_HOOK_RSTRT_THREAD_CONTEXT,
  CR_HOOK_RSTRT_NO_CALLBACKS,
  CR_NUM_HOOKS              /* not an event */
} cr_hook_event_t;

typedef void (*cr_hook_fn_t)(cr_hook_event_t);
#define CR_HOOK_FN_ERROR ((cr_hook_fn_t)(~0UL))

/* Scopes of cr_hold_ctrl(). */
enum {
  CR_HOLD_SCOPE_THREAD,
  CR_HOLD_SCOPE_INIT,
  CR_HOLD_SCOPE_UNINIT
};

/* Return values of cr_poll_checkpoint_msg() / cr_poll_restart_msg() failures. */
#define CR_POLL_CHKPT_ERR_PRE  -1
#define CR_POLL_CHKPT_ERR_POST -2
#define CR_POLL_CHKPT_ERR_LOG  -3
#define CR_POLL_RSTRT_ERR_PRE  -1
#define CR_POLL_RSTRT_ERR_POST -2
#define CR_POLL_RSTRT_ERR_LOG  -3

/* ---- Initialisation and the request API ---- */

extern cr_client_id_t cr_init(void);

/* Never call cri_init_*_args_t() directly: use the macros. */
#define cr_initialize_checkpoint_args_t(_cr_args) \
  cri_init_checkpoint_args_t(CR_CHECKPOINT_ARGS_VERSION, (_cr_args))
extern int cri_init_checkpoint_args_t(cr_version_t, cr_checkpoint_args_t *);

extern int cr_request_checkpoint(cr_checkpoint_args_t *args, cr_checkpoint_handle_t *handle);
extern int cr_forward_checkpoint(cr_scope_t cr_scope, pid_t cr_target);
extern int cr_wait_checkpoint(cr_checkpoint_handle_t *handle, struct timeval *timeout);
extern int cr_log_checkpoint(cr_checkpoint_handle_t *handle, unsigned int len, char *msg);
extern int cr_reap_checkpoint(cr_checkpoint_handle_t *handle);
extern int cr_poll_checkpoint_msg(cr_checkpoint_handle_t *handle, struct timeval *timeout,
                                  char **msg_p);
extern int cr_poll_checkpoint(cr_checkpoint_handle_t *handle, struct timeval *timeout);

/* ---- Restart API (experimental in BLCR) ---- */

#define cr_initialize_restart_args_t(_cr_args) \
  cri_init_restart_args_t(CR_RESTART_ARGS_VERSION, (_cr_args))
extern int cri_init_restart_args_t(cr_version_t, cr_restart_args_t *);

extern int cr_request_restart(cr_restart_args_t *args, cr_restart_handle_t *handle);
extern int cr_wait_restart(cr_restart_handle_t *handle, struct timeval *timeout);
extern int cr_log_restart(cr_restart_handle_t *handle, unsigned int len, char *msg);
extern int cr_reap_restart(cr_restart_handle_t *handle);
extern int cr_poll_restart_msg(cr_restart_handle_t *handle, struct timeval *timeout,
                               char **msg_p);
extern int cr_poll_restart(cr_restart_handle_t *handle, struct timeval *timeout);

/* ---- Callbacks ---- */

extern cr_callback_id_t cr_register_callback(cr_callback_t func, void *arg, int flags);
extern int cr_replace_callback(cr_callback_id_t id, cr_callback_t func, void *arg, int flags);
extern int cr_replace_self(cr_callback_t func, void *arg, int flags);
extern int cr_checkpoint(int flags);
extern const struct cr_checkpoint_info *cr_get_checkpoint_info(void);
extern const struct cr_restart_info *cr_get_restart_info(void);

/* ---- Critical sections, status, hooks, hold, persist ---- */

extern int cr_enter_cs(cr_client_id_t id);
extern int cr_tryenter_cs(cr_client_id_t id);
extern int cr_leave_cs(cr_client_id_t id);
extern int cr_status(void);
extern cr_hook_fn_t cr_register_hook(cr_hook_event_t event, cr_hook_fn_t hook_fn);
extern int cr_hold_ctrl(int scope, int flags);
extern int cr_inc_persist(void);
extern int cr_dec_persist(void);

/* ---- Spinlocks (signal- and thread-safe) ---- */

extern void cr_spinlock_init(cr_spinlock_t *x);
extern void cr_spinlock_lock(cr_spinlock_t *x);
extern void cr_spinlock_unlock(cr_spinlock_t *x);
extern int cr_spinlock_trylock(cr_spinlock_t *x);

/* ---- Errors ---- */

extern const char *cr_strerror(int errnum);

/* ---- Deprecated since BLCR 0.8.0: self-checkpoints that abort the process on error ---- */

extern void cr_request(void) _CR_DEPRECATED;
extern void cr_request_file(const char *filename) _CR_DEPRECATED;
extern void cr_request_fd(int fd) _CR_DEPRECATED;

/* ---- Link helpers: reference these (-u cr_link_me) in static or --as-needed links ---- */

extern int cr_link_me;
extern int cr_run_link_me;
extern int cr_omit_link_me;

/* The reserved signal, exported for programs that must know it at run time. */
extern const int cri_signum;

#if defined(__GNUC__)
#  pragma GCC visibility pop
#endif

__END_DECLS

#endif /* _CRLIB_H */
