/* SPDX-License-Identifier: MIT */
/* Attaching the allocator uprobes to one ELF object, for one process or all. */
#ifndef LT_PROBES_H
#define LT_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct leaktrace_bpf;
struct bpf_link;

struct lt_probe_set {
	struct bpf_link **links; /* destroyed in reverse: entries go before returns */
	size_t nlinks;
	size_t capacity;
};

/*
 * Attach the malloc family (and mmap/munmap with with_mmap) found in the ELF
 * file at path to pid's calls (-1: every process). Returns 0 or -errno with a
 * one-line reason in err: -ENOENT no such file, -ENOEXEC not an ELF,
 * -ESRCH no malloc/free symbol.
 */
int lt_probes_attach_object(struct lt_probe_set *ps, struct leaktrace_bpf *skel, const char *path,
			    pid_t pid, bool with_mmap, int verbose, char *err, size_t errlen);
/* Attach the CPython object probes (PyType_GenericAlloc, _PyObject_GC_New,
 * _PyObject_GC_NewVar, PyObject_GC_Del) in the interpreter file at path.
 * Returns 0 or -errno with a reason in err (-ESRCH: not an interpreter). */
int lt_probes_attach_python(struct lt_probe_set *ps, struct leaktrace_bpf *skel, const char *path,
			    pid_t pid, int verbose, char *err, size_t errlen);
/* --self-test: print where each probe of the object at path would go and
 * whether the kernel emulates the instruction there. Returns the number of
 * single-stepped probes, or -errno. */
int lt_probes_describe(FILE *out, const char *path, const char *shown_as);
/* Keep any other link (tracepoints) for destruction with the set. */
int lt_probes_keep_link(struct lt_probe_set *ps, struct bpf_link *link);
void lt_probes_destroy(struct lt_probe_set *ps);

#endif
