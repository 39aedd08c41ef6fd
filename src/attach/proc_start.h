/* SPDX-License-Identifier: MIT */
/*
 * When a process started (field 22 of /proc/PID/stat, clock ticks after
 * boot): with its pid, which process it is, since pids are reused.
 */
#ifndef LT_PROC_START_H
#define LT_PROC_START_H

#include <stdint.h>
#include <sys/types.h>

/* 0 when the process is gone or its stat file does not read. */
uint64_t lt_proc_start_ticks(pid_t pid);

#endif
