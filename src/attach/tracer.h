/* SPDX-License-Identifier: MIT */
/* Loading the BPF programs and attaching them for the session's targets. */
#ifndef LT_TRACER_H
#define LT_TRACER_H

#include <stddef.h>
#include <sys/types.h>

#include "attach/libc_discovery.h"
#include "attach/needed_libs.h"

struct lt_session;
struct lt_options;


/* What the ring buffer's records are handed to (ctx: the session), as
 * libbpf's ring_buffer_sample_fn. */
typedef int (*lt_record_fn)(void *ctx, void *data, size_t size);

/* Load, make the ring buffer (s->rings, sized by ring_sizer.h) whose
 * records go to on_record, and attach probes for the mode's targets.
 * Returns 0 or -errno with a one-line reason in err. On error nothing
 * stays attached. */
int lt_tracer_start(struct lt_session *s, lt_record_fn on_record, char *err, size_t errlen);
/* Detach everything and free BPF objects (safe on a partly started session). */
void lt_tracer_stop(struct lt_session *s);
/*
 * Probes for the file ref on pid's calls (-1: every process), unless it has
 * them already (probes made for a process outlive its exec). Returns 0 or
 * -errno with a reason in err.
 */
int lt_tracer_attach_file(struct lt_session *s, pid_t pid, const struct lt_object_ref *ref,
			  char *err, size_t errlen);
/* -c: probes, before the command runs, on the libcs among files (what it
 * will map: lt_command_files), so that a program with its own libc is
 * traced from its first instruction. A file that cannot be attached is
 * left to be attached when it is mapped (warned with -v). Returns 0 or
 * -ENOMEM. */
int lt_tracer_attach_command_libcs(struct lt_session *s, const struct lt_path_list *files);
/* --cgroup: trace pid with its own probes, unless it is traced already.
 * A process that cannot be attached (gone, static) is skipped; returns 0
 * or -ENOMEM. */
int lt_tracer_add_process(struct lt_session *s, pid_t pid);
/* --cgroup: add the processes now in the cgroup tree. Returns how many
 * there are, with their PIDs in *pids (to free), or -errno. */
long lt_tracer_add_cgroup_members(struct lt_session *s, pid_t **pids);
/*
 * --cgroup: past this many processes, start-up says what their own probes
 * cost. Every traced call walks the probes of all of them in the kernel
 * (make bench: ~0.1-0.2 us more per process), and the kernel attaches and
 * detaches them one process after another (~0.5 s and ~1.7 s each here).
 */
#define LT_CGROUP_MANY_PROCESSES 32
/* Processes traced with their own probes now (--cgroup). */
size_t lt_tracer_attached_processes(const struct lt_session *s);
/* Check -O objects and -p PIDs before anything is loaded. */
int lt_tracer_validate_targets(const struct lt_options *o, char *err, size_t errlen);

#endif
