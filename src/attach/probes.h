/* SPDX-License-Identifier: MIT */
/* Attaching the allocator uprobes to one ELF object, for one process or all. */
#ifndef LT_PROBES_H
#define LT_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct leaktrace_bpf;
struct bpf_link;

struct lt_link_reaper;

struct lt_probe_set {
	struct bpf_link **links; /* destroyed in reverse: entries go before returns */
	pid_t *owners;           /* the process each link is for; -1: every process */
	bool *retired;           /* dead (see lt_probes_retire_pid), to be closed */
	size_t nlinks;
	size_t capacity;
	struct lt_link_reaper *reaper; /* closes links of exited processes */
};

/*
 * Attach the malloc family (and mmap/munmap with with_mmap) found in the ELF
 * file at path to pid's calls (-1: every process). Returns 0 or -errno with a
 * one-line reason in err: -ENOENT no such file, -ENOEXEC not an ELF,
 * -ESRCH no malloc/free symbol.
 */
int lt_probes_attach_object(struct lt_probe_set *ps, struct leaktrace_bpf *skel, const char *path,
			    pid_t pid, bool with_mmap, int verbose, char *err, size_t errlen);
/* Attach the CPython object probes in the interpreter file at path: on the
 * object allocator's malloc, calloc, realloc and free at allocator_offsets
 * (file offsets), or, when that is NULL, on the GC allocation entry points
 * (PyType_GenericAlloc, _PyObject_GC_New, _PyObject_GC_NewVar,
 * PyObject_GC_Del); Py_FinalizeEx in both cases. Returns 0 or -errno with
 * a reason in err (-ESRCH: not an interpreter). */
int lt_probes_attach_python(struct lt_probe_set *ps, struct leaktrace_bpf *skel, const char *path,
			    const uint64_t allocator_offsets[4], pid_t pid, int verbose, char *err,
			    size_t errlen);
/* The probe on the code a CPython reference tracer pointer was pointed at
 * (python_reftracer.h): offset in path, for pid only. Returns 0 or -errno. */
int lt_probes_attach_py_ref_tracer(struct lt_probe_set *ps, struct leaktrace_bpf *skel,
				   const char *path, uint64_t offset, pid_t pid);
/* --self-test: print where each probe of the object at path would go and
 * whether the kernel emulates the instruction there. Returns the number of
 * single-stepped probes, or -errno. */
int lt_probes_describe(FILE *out, const char *path, const char *shown_as);
/* Keep any other link (tracepoints) for destruction with the set. */
int lt_probes_keep_link(struct lt_probe_set *ps, struct bpf_link *link);
/*
 * Detach pid's links, in the background: closing a uprobe waits for an RCU
 * grace period, far too long for the thread reading events. Links of a
 * process that has exited never fire again. Returns how many were handed
 * over; on failure (no memory, no thread) they stay until destroy.
 */
size_t lt_probes_release_pid(struct lt_probe_set *ps, pid_t pid);
/*
 * pid's links will never fire again (an exec by a thread other than the
 * leader ended the task they were bound to) but are not closed yet: the
 * kernel makes a new uprobe wait for a close in progress (a close takes
 * about 0.1 s; an open behind one took 0.125 s here), and the new image's
 * probes should not go in among 17 of them.
 * Close them with lt_probes_close_retired once those are attached (or
 * with lt_probes_release_pid when the process ends). Returns how many.
 */
size_t lt_probes_retire_pid(struct lt_probe_set *ps, pid_t pid);
size_t lt_probes_close_retired(struct lt_probe_set *ps, pid_t pid);
/* How many live (not retired) links pid has. */
size_t lt_probes_count_pid(const struct lt_probe_set *ps, pid_t pid);
void lt_probes_destroy(struct lt_probe_set *ps);

#endif
