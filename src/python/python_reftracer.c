// SPDX-License-Identifier: MIT
#include "python/python_reftracer.h"

#include <errno.h>
#include <string.h>

#include "attach/disasm.h"
#include "attach/probe_site.h"
#include "python/python_runtime_ref.h"

#define SCAN_BYTES 64
#define SCAN_INSNS 12

/*
 * PyRefTracer_GetTracer(void **data) returns the pointer: its last load of
 * _PyRuntime memory into rax before ret reads the slot.
 */
static int find_slot(const struct lt_elf_file *ef, uint64_t runtime, uint64_t runtime_size,
		     uint64_t *slot)
{
	struct lt_py_runtime_ref rt;
	uint8_t code[SCAN_BYTES];
	struct lt_elf_symbol sym;
	struct lt_disasm d;
	const uint8_t *p = code;
	uint64_t addr, last = 0;
	size_t left;

	lt_py_runtime_ref_init(&rt, ef, runtime, runtime_size);
	if (lt_elf_find_function(ef, "PyRefTracer_GetTracer", &sym) ||
	    lt_elf_read_code(ef, sym.vaddr, code, sizeof(code), &left) || lt_disasm_open(&d))
		return -ENOENT;
	addr = sym.vaddr;
	for (int n = 0; n < SCAN_INSNS && cs_disasm_iter(d.cs, &p, &left, &addr, d.insn); n++) {
		const cs_x86 *x = &d.insn->detail->x86;
		uint64_t at;

		if (d.insn->id == X86_INS_RET)
			break;
		if (d.insn->id == X86_INS_MOV && x->op_count == 2 &&
		    x->operands[0].type == X86_OP_REG && x->operands[0].reg == X86_REG_RAX &&
		    (at = lt_py_runtime_ref_operand(&rt, d.insn, &x->operands[1])))
			last = at;
		lt_py_runtime_ref_step(&rt, d.insn);
	}
	lt_disasm_close(&d);
	*slot = last;
	return last ? 0 : -ENOENT;
}

/* PyCriticalSection_End does nothing in builds with the GIL: [endbr64] ret. */
static int find_noop(const struct lt_elf_file *ef, uint64_t *alias)
{
	uint8_t code[15 + 5];
	struct lt_elf_symbol sym;
	const uint8_t *body;
	size_t got;

	if (lt_elf_find_function(ef, "PyCriticalSection_End", &sym) || sym.vaddr < 15 ||
	    lt_elf_read_code(ef, sym.vaddr - 15, code, sizeof(code), &got) || got != sizeof(code))
		return -ENOENT;
	body = code + 15;
	if (lt_insn_is_endbr64(body))
		body += 4;
	if (*body != 0xc3)
		return -ENOENT;
	*alias = lt_nop_alias(code, 15, sym.vaddr);
	return *alias ? 0 : -ENOENT;
}

int lt_py_find_reftracer(const struct lt_elf_file *ef, uint64_t runtime, uint64_t runtime_size,
			 struct lt_py_reftracer *out)
{
	memset(out, 0, sizeof(*out));
	if (!runtime || find_slot(ef, runtime, runtime_size, &out->slot) ||
	    find_noop(ef, &out->noop_alias)) {
		memset(out, 0, sizeof(*out));
		return -ENOENT;
	}
	return 0;
}
