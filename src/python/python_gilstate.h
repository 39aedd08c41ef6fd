/* SPDX-License-Identifier: MIT */
/*
 * Where an interpreter keeps each thread's own thread state (GIL held or
 * not), read from its PyGILState_GetThisThreadState: the pthread key in
 * _PyRuntime.autoTSSkey whose value it fetches (3.8-3.14), or the
 * thread-local variable it loads (3.15: _Py_tss_gilstate), fs-relative in
 * an executable, through __tls_get_addr in a shared libpython. Builds place
 * these differently, so the code is read rather than a table trusted.
 */
#ifndef LT_PYTHON_GILSTATE_H
#define LT_PYTHON_GILSTATE_H

#include <stdint.h>

#include "symbols/elf_file.h"

struct lt_py_gilstate {
	uint32_t tss_key;   /* offset of the pthread key (an int) in _PyRuntime; 0 if none */
	int64_t tstate_tls; /* fs_base-relative address of the thread state; 0 if none */
	/* A shared libpython's thread-local: the GOT pair (ELF vaddr) holding
	 * its TLS module id, and the thread state's offset in its block. */
	uint64_t tls_slot;
	uint64_t tls_block_off;
};

/* runtime, runtime_size: _PyRuntime's ELF vaddr and size. Returns 0 with
 * one of the three set, or -ENOENT. */
int lt_py_find_gilstate(const struct lt_elf_file *ef, uint64_t runtime, uint64_t runtime_size,
			struct lt_py_gilstate *out);

#endif
