/*
 * blcr_errcodes.h: BLCR's own errno values, as an X-macro list.
 *
 * This file is included twice by blcr_common.h (BLCR 0.8.6_b4 did the same): once to
 * build the enum of CR_E* values and once more by libcr to build the table of
 * cr_strerror() texts. Define CR_ERROR_DEF(name, text) before including it; it is
 * undefined again at the end. New codes are only ever appended.
 *
 * No include guard, on purpose.
 */
#ifndef CR_ERROR_DEF
#  error "blcr_errcodes.h: define CR_ERROR_DEF(name, text) before including it"
#endif

CR_ERROR_DEF(CR_ETEMPFAIL,  "Temporary error: checkpoint cancelled")
CR_ERROR_DEF(CR_EPERMFAIL,  "Permanent failure: checkpoint cancelled and job killed")
CR_ERROR_DEF(CR_ENOSUPPORT, "Checkpoint support not linked into one or more processes")
CR_ERROR_DEF(CR_EVERSION,   "Requested kernel interface version is not supported")
CR_ERROR_DEF(CR_EOMITTED,   "Process omitted from checkpoint at a callback's request")
CR_ERROR_DEF(CR_EBADARCH,   "Context file does not match the kernel architecture")
CR_ERROR_DEF(CR_EPTRACED,   "One or more target processes is being ptraced")
CR_ERROR_DEF(CR_EPTRACER,   "One or more target processes has ptrace children")
CR_ERROR_DEF(CR_ERSTRTABRT, "Restart aborted: restart cancelled and job killed")
CR_ERROR_DEF(CR_ERESTARTED, "Request is invalid across a restart")
CR_ERROR_DEF(CR_ENOTCB,     "Call is only valid from a checkpoint callback")
CR_ERROR_DEF(CR_ENOINIT,    "Calling thread has not called cr_init()")

#undef CR_ERROR_DEF
