/* SPDX-License-Identifier: MIT */
/*
 * The capabilities tracing needs, checked before anything is loaded so that
 * a missing one is named in one line instead of failing half-way:
 *
 *   CAP_SYS_ADMIN        uprobe perf events (the kernel gives them only to
 *                        it since CVE-2025-38466; before, CAP_PERFMON did),
 *                        and with it BPF programs and maps (else CAP_BPF and
 *                        CAP_PERFMON) and opening /proc/PID/map_files links
 *                        (else CAP_CHECKPOINT_RESTORE)
 *   CAP_SYS_PTRACE       other users' /proc/PID/maps, /proc/PID/root and
 *                        process_vm_readv of their Python code objects
 *   CAP_DAC_READ_SEARCH  /proc/PID/map_files of other users' processes (the
 *                        directory is theirs, mode 0500) and files under
 *                        their private directories
 */
#ifndef LT_PRIVILEGES_H
#define LT_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Checks this process's effective capabilities. Returns 0, or -EPERM with
 * one sentence in msg saying what is needed and what is missing. */
int lt_check_privileges(char *msg, size_t len);

/*
 * The decision alone: effective has bit N set for capability N;
 * uprobes_need_admin says whether this kernel opens uprobe perf events only
 * for CAP_SYS_ADMIN. Returns 0, or -EPERM with msg as above.
 */
int lt_privileges_explain(uint64_t effective, bool uprobes_need_admin, char *msg, size_t len);

#endif
