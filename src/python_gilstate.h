/* SPDX-License-Identifier: MIT */
/*
 * Where an interpreter keeps each thread's own thread state (GIL held or
 * not), read from its PyGILState_GetThisThreadState: the pthread key in
 * _PyRuntime.autoTSSkey whose value it fetches (3.8-3.14), or the
 * thread-local variable it loads from an fs-relative address (3.15:
 * _Py_tss_gilstate, in an executable's initial TLS block). Builds place
 * these differently, so the code is read rather than a table trusted.
 */
#ifndef LT_PYTHON_GILSTATE_H
#define LT_PYTHON_GILSTATE_H

#include <stdint.h>

#include "elf_file.h"

struct lt_py_gilstate {
	uint32_t tss_key;   /* offset of the pthread key (an int) in _PyRuntime; 0 if none */
	int64_t tstate_tls; /* fs_base-relative address of the thread state; 0 if none */
};

/* runtime, runtime_size: _PyRuntime's ELF vaddr and size. Returns 0 with
 * one of the two set, or -ENOENT. */
int lt_py_find_gilstate(const struct lt_elf_file *ef, uint64_t runtime, uint64_t runtime_size,
			struct lt_py_gilstate *out);

#endif
