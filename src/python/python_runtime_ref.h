/* SPDX-License-Identifier: MIT */
/*
 * Reading where CPython's own code reaches into _PyRuntime: rip-relative in
 * an executable; in a shared libpython, off a register it loaded
 * _PyRuntime's address into from the GOT. Used by the readers of
 * PyGILState_GetThisThreadState and PyRefTracer_GetTracer.
 */
#ifndef LT_PYTHON_RUNTIME_REF_H
#define LT_PYTHON_RUNTIME_REF_H

#include <stdint.h>

#include "attach/disasm.h"
#include "symbols/elf_file.h"

struct lt_py_runtime_ref {
	const struct lt_elf_file *ef;
	uint64_t runtime, size; /* _PyRuntime's ELF vaddr and size */
	x86_reg base;           /* holds _PyRuntime's address; X86_REG_INVALID: none */
};

void lt_py_runtime_ref_init(struct lt_py_runtime_ref *r, const struct lt_elf_file *ef,
			    uint64_t runtime, uint64_t size);
/* The ELF vaddr inside _PyRuntime that op (a memory operand of insn) names,
 * or 0. */
uint64_t lt_py_runtime_ref_operand(const struct lt_py_runtime_ref *r, const cs_insn *insn,
				   const cs_x86_op *op);
/* After each instruction: notes a load of _PyRuntime's address (mov reg,
 * [GOT slot]) and forgets a register written otherwise. */
void lt_py_runtime_ref_step(struct lt_py_runtime_ref *r, const cs_insn *insn);

#endif
