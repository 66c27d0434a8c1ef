/*
 * blcr_common.h: BLCR 0.8.6_b4's types and constants shared by libcr, its users and (in
 * BLCR) the kernel module. Names, values and struct layouts are BLCR's
 * (/work/shared/docs/BLCR-API.md section 1); crest's own additions are marked.
 */
#ifndef _BLCR_COMMON_H
#define _BLCR_COMMON_H 1

#include <features.h>
#include <sys/ioctl.h>
#include <sys/types.h>

__BEGIN_DECLS

#if defined(__GNUC__) && ((100 * __GNUC__ + __GNUC_MINOR__) >= 302)
#  define _CR_DEPRECATED __attribute__((__deprecated__))
#else
#  define _CR_DEPRECATED
#endif

#include <blcr_proc.h>

/* The real-time signal libcr reserves: SIGRTMAX on x86-64 glibc. */
#define CR_SIGNUM 64

/* Release, library interface and kernel interface versions. */
#define CR_RELEASE_MAJOR 0
#define CR_RELEASE_MINOR 8
#define CR_RELEASE_PATCH 6_b4
#define CR_RELEASE_VERSION "0.8.6_b4"

#define LIBCR_MAJOR 0
#define LIBCR_MINOR 5
#define LIBCR_PATCH 5
#define LIBCR_VERSION "0.5.5"

#define CR_MODULE_MAJOR 0
#define CR_MODULE_MINOR 10
#define CR_MODULE_PATCH 3
#define CR_MODULE_VERSION "0.10.3"

/* BLCR's errno values: CR_MIN_ERRCODE < CR_E* < CR_MAX_ERRCODE, never renumbered. */
#define CR_ERROR_DEF(name, text) name,
enum {
  CR_MIN_ERRCODE = 2353,
#include <blcr_errcodes.h>
  CR_MAX_ERRCODE
};

typedef long cr_bool_t;

typedef enum {
  cr_format_vmadump = 0
} cr_format_t;

/* Scope of a checkpoint request (CR_SCOPE_TASK, a single thread, no longer exists). */
typedef enum {
  CR_SCOPE_PROC, /* every thread of one process */
  CR_SCOPE_PGRP, /* every process of a process group */
  CR_SCOPE_SESS, /* every process of a session */
  CR_SCOPE_TREE  /* a process and its descendants */
} cr_scope_t;

/* cr_checkpoint() flags: one of these. */
enum {
  CR_CHECKPOINT_READY = 0,          /* checkpoint this process */
  CR_CHECKPOINT_TEMP_FAILURE = 1,   /* cancel the checkpoint, keep running */
  CR_CHECKPOINT_PERM_FAILURE = 2,   /* cancel the checkpoint and kill its processes */
  CR_CHECKPOINT_OMIT = 4,           /* checkpoint the others, leave this process out */
  _CR_CHECKPOINT_STUB = 0x4000      /* internal: the answer of a stub library */
};
#define CR_CHECKPOINT_TEMP_FAILURE_CODE(_v) (CR_CHECKPOINT_TEMP_FAILURE | ((_v) << 16))
#define CR_CHECKPOINT_PERM_FAILURE_CODE(_v) (CR_CHECKPOINT_PERM_FAILURE | ((_v) << 16))
#define CR_CHECKPOINT_ABORT_MASK \
  (CR_CHECKPOINT_TEMP_FAILURE | CR_CHECKPOINT_PERM_FAILURE | CR_CHECKPOINT_OMIT)

/* cr_fd value: one context.<pid> per process in the requester's cwd (kernel only). */
#define CR_DEST_CWD (-4096)

/* Kernel-interface request of a checkpoint (layout kept; crest does not use it). */
struct cr_chkpt_args {
  pid_t cr_target;
  cr_scope_t cr_scope;
  int cr_fd;
  unsigned int cr_secs;
  cr_format_t dump_format;
  int signal;
  unsigned int flags;
};

/* Kernel-interface argument of cr_forward_checkpoint(). */
struct cr_fwd_args {
  pid_t cr_target;
  cr_scope_t cr_scope;
};

/* cr_flags of a checkpoint request. */
#define CR_CHKPT_PROHIBIT_SELF 0x00000001
#define CR_CHKPT_PTRACED_ALLOW 0x00000002
#define CR_CHKPT_PTRACED_SKIP  0x00000004
#define CR_CHKPT_PTRACER_SKIP  0x00000008
#define CR_CHKPT_ASYNC_ERR     0x00000010
#define CR_CHKPT_DUMP_EXEC     0x0200
#define CR_CHKPT_DUMP_PRIVATE  0x0400
#define CR_CHKPT_DUMP_SHARED   0x0800
#define CR_CHKPT_DUMP_ALL (CR_CHKPT_DUMP_EXEC | CR_CHKPT_DUMP_PRIVATE | CR_CHKPT_DUMP_SHARED)
/* crest's own: fail with CR_ENOSUPPORT, as BLCR did, when a target has no libcr handler
   (without it crest checkpoints such processes transparently). docs/libcr.md */
#define CR_CHKPT_REQUIRE_LIBCR 0x1000

/* Restart-time path relocation. */
struct cr_rstrt_relocate_pair {
  const char *oldpath;
  const char *newpath;
};
struct cr_rstrt_relocate {
  unsigned int count;
  struct cr_rstrt_relocate_pair path[];
};
#define CR_RSTRT_RELOCATE_SIZE(_cnt) \
  (sizeof(struct cr_rstrt_relocate) + (_cnt) * sizeof(struct cr_rstrt_relocate_pair))
#define CR_MAX_RSTRT_RELOC 16

/* Kernel-interface request of a restart. */
struct cr_rstrt_args {
  int cr_fd;
  int signal;
  struct cr_rstrt_relocate *relocate;
  unsigned int flags;
};

/* cr_flags of a restart request. */
#define CR_RSTRT_ASYNC_ERR    0x00000001
#define CR_RSTRT_RESTORE_PID  0x00000002
#define CR_RSTRT_RESTORE_PGID 0x00000004
#define CR_RSTRT_RESTORE_SID  0x00000008

/* Kernel-interface structs of a restart and of checkpoint information and logs. */
struct cr_procs_tbl {
  int threads;
  int clone_flags;
};

struct cr_chkpt_info {
  pid_t requester;
  pid_t target;
  int scope;
  int signal;
  char *dest;
};

struct cr_log_args {
  unsigned int len;
  char *buf;
};

/* cr_hold_ctrl() flags. */
#define CR_HOLD_READ  -1
#define CR_HOLD_NONE  0
#define CR_HOLD_CONT  1
#define CR_HOLD_RSTRT 2
#define CR_HOLD_BOTH  (CR_HOLD_CONT | CR_HOLD_RSTRT)
#define CR_HOLD_DFLT  4

__END_DECLS

#endif /* _BLCR_COMMON_H */
