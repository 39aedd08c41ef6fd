/* SPDX-License-Identifier: MIT */
/*
 * Deciding which processes run a CPython interpreter and starting to trace
 * their objects: the interpreter's probes (once per file, or per process
 * with -p), its layout in the BPF map, and the process's object tables.
 */
#ifndef LT_PYTHON_ATTACH_H
#define LT_PYTHON_ATTACH_H

#include <stdint.h>

struct lt_session;
struct lt_process;
struct lt_free_event;
struct lt_path_list;

/* If p runs a CPython interpreter (its mappings say so), trace its objects.
 * Cheap when p's mappings have not changed since the last call. Returns 0
 * (also for a process that is not Python) or -errno. */
int lt_python_track(struct lt_session *s, struct lt_process *p);
/* -c: probes on the interpreter among the files the program about to run
 * will map (lt_command_files), so none of its objects is missed while its
 * mappings are not readable yet. */
void lt_python_prepare_program(struct lt_session *s, const struct lt_path_list *files);
/* Reads the types of p's new blocks made at least min_age_ns ago (all of
 * them when 0), for every traced Python process. */
void lt_python_settle(struct lt_session *s, uint64_t min_age_ns);
/* p's interpreter began to shut down (e says whether BPF stopped it): its
 * objects are read as they are now, and the process resumed. */
void lt_python_finalizing(struct lt_session *s, struct lt_process *p,
			  const struct lt_free_event *e);

/* p's image is gone (exec or exit): forget its layout in BPF. */
void lt_python_forget(struct lt_session *s, uint32_t tgid);
/* Before tracing ends: the allocator tables of live processes pointed back. */
void lt_python_release(struct lt_session *s);

#endif
