// SPDX-License-Identifier: MIT
#include "python_gilstate.h"

#include <errno.h>
#include <string.h>

#include "disasm.h"

/* The function is a few instructions: a check, then the load or the call. */
#define SCAN_INSNS 12
#define SCAN_BYTES 64
/* Py_tss_t { int _is_initialized; pthread_key_t _key; } */
#define TSS_KEY_OFFSET 4

static bool in_runtime(uint64_t addr, uint64_t runtime, uint64_t size)
{
	return addr >= runtime && addr < runtime + size;
}

int lt_py_find_gilstate(const struct lt_elf_file *ef, uint64_t runtime, uint64_t runtime_size,
			struct lt_py_gilstate *out)
{
	uint8_t code[SCAN_BYTES];
	struct lt_elf_symbol sym;
	struct lt_disasm d;
	const uint8_t *p = code;
	uint64_t addr;
	size_t left;
	int ret = -ENOENT;

	memset(out, 0, sizeof(*out));
	if (!runtime || lt_elf_find_function(ef, "PyGILState_GetThisThreadState", &sym) ||
	    lt_elf_read_code(ef, sym.vaddr, code, sizeof(code), &left) || lt_disasm_open(&d))
		return -ENOENT;
	addr = sym.vaddr;
	for (int n = 0; n < SCAN_INSNS && ret && cs_disasm_iter(d.cs, &p, &left, &addr, d.insn); n++) {
		const cs_x86 *x = &d.insn->detail->x86;
		const cs_x86_op *src = x->op_count == 2 ? &x->operands[1] : NULL;
		uint64_t target;

		if (!src || (d.insn->id != X86_INS_MOV && d.insn->id != X86_INS_LEA))
			continue;
		/* 3.15: mov rax, qword ptr fs:[disp] */
		if (src->type == X86_OP_MEM && src->mem.segment == X86_REG_FS &&
		    src->mem.base == X86_REG_INVALID && src->mem.index == X86_REG_INVALID &&
		    src->mem.disp < 0) {
			out->tstate_tls = src->mem.disp;
			ret = 0;
			break;
		}
		/* The Py_tss_t's address, for PyThread_tss_get: mov edi, imm
		 * (non-PIE) or lea rdi, [rip + d]. */
		if (x->operands[0].type == X86_OP_REG && x->operands[0].reg == X86_REG_EDI &&
		    src->type == X86_OP_IMM && in_runtime((uint64_t)src->imm, runtime, runtime_size)) {
			out->tss_key = (uint32_t)((uint64_t)src->imm - runtime) + TSS_KEY_OFFSET;
			ret = 0;
			break;
		}
		if (src->type != X86_OP_MEM || src->mem.base != X86_REG_RIP)
			continue;
		target = d.insn->address + d.insn->size + (uint64_t)src->mem.disp;
		if (!in_runtime(target, runtime, runtime_size))
			continue;
		if (d.insn->id == X86_INS_LEA) {
			out->tss_key = (uint32_t)(target - runtime) + TSS_KEY_OFFSET;
			ret = 0;
		} else if (x->operands[0].type == X86_OP_REG && x->operands[0].size == 4) {
			/* The key itself, for pthread_getspecific (LTO builds). */
			out->tss_key = (uint32_t)(target - runtime);
			ret = 0;
		}
	}
	lt_disasm_close(&d);
	return ret;
}
