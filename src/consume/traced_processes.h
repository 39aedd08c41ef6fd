/* SPDX-License-Identifier: MIT */
/*
 * Which processes are traced, and with which probes, as the records of
 * their lives say: a process met for the first time, a fork, an exec, an
 * exit, a library mapped, a process moved out of the --cgroup tree. Each
 * keeps the process table, the probes, the unwind tables and BPF's maps
 * in step; the consumer only hands the records over.
 */
#ifndef LT_TRACED_PROCESSES_H
#define LT_TRACED_PROCESSES_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "leaktrace_events.h"

struct lt_session;
struct lt_process;

/* The record of tgid, made on its first event (at seen_ns) if need be: the
 * process may have exited since, and its PID been taken by another. NULL
 * for a process never traced (another leaktrace) and on ENOMEM. */
struct lt_process *lt_traced_process_for(struct lt_session *s, uint32_t tgid, uint64_t seen_ns);
/* The descriptors p has open as tracing of it begins: "open before", not
 * seen made (nothing without descriptor tracing). before_exec: p is the -c
 * command, held before its exec, which will close its close-on-exec ones. */
void lt_traced_read_open_fds(struct lt_session *s, struct lt_process *p, bool before_exec);
/* p maps files it did not before: one may be a CPython interpreter.
 * Returns 0 or -ENOMEM. */
int lt_traced_notice_mappings(struct lt_session *s, struct lt_process *p);

void lt_traced_on_fork(struct lt_session *s, const struct lt_task_event *e);
void lt_traced_on_exec(struct lt_session *s, const struct lt_exec_event *e);
void lt_traced_on_exit(struct lt_session *s, const struct lt_task_event *e);
/* The code mappings the kernel sent at exit: names for a process gone
 * before its own could be read. */
void lt_traced_on_exit_maps(struct lt_session *s, const struct lt_exit_maps_event *e,
			    size_t size);
/* A library being mapped: its unwind table is requested, and a libc is
 * attached (for this process alone with -p and --cgroup). */
void lt_traced_on_lib_map(struct lt_session *s, const struct lt_lib_event *e);

/* --cgroup: add the processes now in the tree, and let go of those moved
 * out (lt_traced_left_cgroup). Returns 0 or -errno. */
int lt_traced_scan_cgroup(struct lt_session *s);
/* --cgroup: p was moved out of the tree. Its probes are closed and its
 * events stop; it is shown once more with what it held, then forgotten. */
void lt_traced_left_cgroup(struct lt_session *s, struct lt_process *p);

#endif
