// SPDX-License-Identifier: MIT
#include "python/python_gilstate.h"

#include <errno.h>
#include <string.h>

#include "attach/disasm.h"
#include "python/python_runtime_ref.h"

/* The function is a few instructions: a check, then the load or the call. */
#define SCAN_INSNS 12
#define SCAN_BYTES 64
/* Py_tss_t { int _is_initialized; pthread_key_t _key; } */
#define TSS_KEY_OFFSET 4

/* What the registers hold so far besides _PyRuntime's address: a
 * thread-local block's, from __tls_get_addr (shared libpython). */
struct regs {
	struct lt_py_runtime_ref rt;
	bool tls_call;       /* the TLS pair is in rdi: the next call returns the block */
	bool block_in_rax;
	uint64_t tls_slot, tls_block_off;
};

/* One instruction of the function: 1 when it says where the thread state
 * is (*out set), 0 to go on. */
static int scan_insn(const cs_insn *insn, struct regs *r, struct lt_py_gilstate *out)
{
	const cs_x86 *x = &insn->detail->x86;
	const cs_x86_op *dst = x->op_count >= 1 ? &x->operands[0] : NULL;
	const cs_x86_op *src = x->op_count == 2 ? &x->operands[1] : NULL;
	uint64_t runtime = r->rt.runtime, at;

	if (insn->id == X86_INS_CALL) {
		r->block_in_rax = r->tls_call;
		r->tls_call = false;
		return 0;
	}
	if (!src || (insn->id != X86_INS_MOV && insn->id != X86_INS_LEA))
		return 0;
	/* 3.15 executable: mov rax, qword ptr fs:[disp] */
	if (src->type == X86_OP_MEM && src->mem.segment == X86_REG_FS &&
	    src->mem.base == X86_REG_INVALID && src->mem.index == X86_REG_INVALID &&
	    src->mem.disp < 0) {
		out->tstate_tls = src->mem.disp;
		return 1;
	}
	/* The Py_tss_t's address, for PyThread_tss_get: mov edi, imm (non-PIE). */
	if (dst->type == X86_OP_REG && dst->reg == X86_REG_EDI && src->type == X86_OP_IMM &&
	    (uint64_t)src->imm >= runtime && (uint64_t)src->imm < runtime + r->rt.size) {
		out->tss_key = (uint32_t)((uint64_t)src->imm - runtime) + TSS_KEY_OFFSET;
		return 1;
	}
	if (src->type != X86_OP_MEM)
		return 0;
	/* 3.15 shared: mov rax, [rax + disp] on the block __tls_get_addr gave. */
	if (r->block_in_rax && insn->id == X86_INS_MOV && src->mem.base == X86_REG_RAX &&
	    src->mem.index == X86_REG_INVALID && src->mem.disp >= 0) {
		out->tls_slot = r->tls_slot;
		out->tls_block_off = r->tls_block_off + (uint64_t)src->mem.disp;
		return 1;
	}
	at = lt_py_runtime_ref_operand(&r->rt, insn, src);
	/* The Py_tss_t's address (lea), or the key itself, for
	 * pthread_getspecific (LTO builds: a 4-byte load). */
	if (at && insn->id == X86_INS_LEA) {
		out->tss_key = (uint32_t)(at - runtime) + TSS_KEY_OFFSET;
		return 1;
	}
	if (at && dst->type == X86_OP_REG && dst->size == 4) {
		out->tss_key = (uint32_t)(at - runtime);
		return 1;
	}
	/* The TLS pair, for __tls_get_addr. */
	if (!at && insn->id == X86_INS_LEA && dst->type == X86_OP_REG &&
	    dst->reg == X86_REG_RDI && src->mem.base == X86_REG_RIP) {
		uint64_t pair = insn->address + insn->size + (uint64_t)src->mem.disp;

		if (!lt_elf_tls_slot(r->rt.ef, pair, &r->tls_block_off)) {
			r->tls_slot = pair;
			r->tls_call = true;
		}
	}
	return 0;
}

int lt_py_find_gilstate(const struct lt_elf_file *ef, uint64_t runtime, uint64_t runtime_size,
			struct lt_py_gilstate *out)
{
	struct regs r = { .tls_call = false };
	uint8_t code[SCAN_BYTES];
	struct lt_elf_symbol sym;
	struct lt_disasm d;
	const uint8_t *p = code;
	uint64_t addr;
	size_t left;
	int found = 0;

	memset(out, 0, sizeof(*out));
	lt_py_runtime_ref_init(&r.rt, ef, runtime, runtime_size);
	if (!runtime || lt_elf_find_function(ef, "PyGILState_GetThisThreadState", &sym) ||
	    lt_elf_read_code(ef, sym.vaddr, code, sizeof(code), &left) || lt_disasm_open(&d))
		return -ENOENT;
	addr = sym.vaddr;
	for (int n = 0; n < SCAN_INSNS && !found && cs_disasm_iter(d.cs, &p, &left, &addr, d.insn);
	     n++) {
		found = scan_insn(d.insn, &r, out);
		lt_py_runtime_ref_step(&r.rt, d.insn);
	}
	lt_disasm_close(&d);
	return found ? 0 : -ENOENT;
}
