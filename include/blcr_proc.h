/*
 * blcr_proc.h: where BLCR 0.8.6_b4's kernel interface lived (a /proc file) and its
 * request numbers. Included by blcr_common.h.
 *
 * crest has no kernel module: nothing opens CR_CTRL_FILE. The names stay so that code
 * written against BLCR's headers keeps compiling.
 */
#ifndef _BLCR_PROC_H
#define _BLCR_PROC_H 1

#define CR_CTRL_FILE "/proc/checkpoint/ctrl"

#include <blcr_ioctl.h>

#endif /* _BLCR_PROC_H */
