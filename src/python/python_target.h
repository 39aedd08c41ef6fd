/* SPDX-License-Identifier: MIT */
/*
 * Finding the CPython interpreter a process runs: the mapped ELF file
 * (libpython3.X.so or a python executable with the C API built in) that
 * defines _PyRuntime and PyType_GenericAlloc, its version, where
 * _PyRuntime is at run time, and where to put the allocation uprobes.
 * The layout table is checked against the file before it is trusted.
 */
#ifndef LT_PYTHON_TARGET_H
#define LT_PYTHON_TARGET_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "leaktrace_events.h"
#include "attach/proc_maps.h"
#include "python/python_layout.h"
#include "python/python_redirect.h"

/* The probed functions, in the order of lt_py_interp.offsets. */
enum lt_py_probe {
	LT_PY_PROBE_GENERIC_ALLOC, /* PyType_GenericAlloc */
	LT_PY_PROBE_GC_NEW,        /* _PyObject_GC_New */
	LT_PY_PROBE_GC_NEWVAR,     /* _PyObject_GC_NewVar */
	LT_PY_PROBE_GC_DEL,        /* PyObject_GC_Del */
	LT_PY_PROBE_COUNT,
};

extern const char *const lt_py_probe_names[LT_PY_PROBE_COUNT];

/* What the interpreter's probes see. */
enum lt_py_objects {
	/* The object allocator's functions: every object and object-domain
	 * buffer, typed when read back from the process. */
	LT_PY_OBJECTS_ALL = 1,
	/* The GC allocation entry points: GC-tracked objects only, for
	 * --python-objects gc and builds that inline the allocator into its
	 * callers with no alias to point their table at. */
	LT_PY_OBJECTS_GC,
};

struct lt_py_interp {
	char path[PATH_MAX]; /* openable file holding the interpreter (libpython or the executable) */
	uint32_t minor, micro; /* micro is 0 when unknown (3.8-3.10 give no Py_Version) */
	/* Code objects and strings: the version's table, or (3.13+) its own
	 * _Py_DebugOffsets. */
	struct lt_py_version_info info;
	uint64_t load_bias;    /* runtime address = ELF vaddr + load_bias */
	struct lt_py_layout layout; /* runtime filled */
	uint64_t offsets[LT_PY_PROBE_COUNT]; /* uprobe file offsets; 0 = absent */
	uint64_t code_type;    /* runtime address of PyCode_Type, 0 if unknown */
	uint64_t type_type;    /* runtime address of PyType_Type, 0 if unknown */
	uint64_t str_type;     /* runtime address of PyUnicode_Type, 0 if unknown */
	enum lt_py_objects objects;
	bool allocator_inlined; /* why LT_PY_OBJECTS_GC: the build, not the user's choice */
	uint64_t allocator_offsets[4]; /* LT_PY_OBJECTS_ALL: file offsets of enum lt_py_alloc_fn */
	/* The build inlines the allocator, and LT_PY_OBJECTS_ALL needs its
	 * table pointed at the aliases (python_redirect.h), which
	 * allocator_offsets then name. Runtime addresses, like layout's. */
	bool redirect;
	struct lt_py_redirect redirect_plan;
};

/* The interpreter mapped by pid. Returns 0, -ENOENT (not a Python process),
 * -ENOTSUP (a Python leaktrace cannot trace: err says why, in one line) or
 * -errno. err may be NULL. */
int lt_py_find_interp(pid_t pid, const struct lt_maps *maps, struct lt_py_interp *out,
		      char *err, size_t errlen);
/* The same for a file not yet running (leaktrace -c python3 ...): load_bias
 * is 0, so for a shared library layout.runtime and code_type are ELF
 * vaddrs until the caller adds the bias of its mapping. */
int lt_py_find_interp_file(const char *path, struct lt_py_interp *out, char *err, size_t errlen);

#endif
