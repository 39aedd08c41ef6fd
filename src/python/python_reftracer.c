// SPDX-License-Identifier: MIT
#include "python/python_reftracer.h"

#include <errno.h>
#include <string.h>

#include "attach/disasm.h"
#include "attach/probe_site.h"

#define SCAN_BYTES 64
#define SCAN_INSNS 12

/*
 * PyRefTracer_GetTracer(void **data) returns the pointer: its last load
 * into rax before ret reads the slot, either rip-relative (an executable)
 * or off a register holding _PyRuntime's address, loaded from the GOT (a
 * shared libpython).
 */
static int find_slot(const struct lt_elf_file *ef, uint64_t runtime, uint64_t runtime_size,
		     uint64_t *slot)
{
	x86_reg base = X86_REG_INVALID;
	uint8_t code[SCAN_BYTES];
	struct lt_elf_symbol sym;
	struct lt_disasm d;
	const uint8_t *p = code;
	uint64_t addr, last = 0;
	size_t left;
	int ret = -ENOENT;

	if (lt_elf_find_function(ef, "PyRefTracer_GetTracer", &sym) ||
	    lt_elf_read_code(ef, sym.vaddr, code, sizeof(code), &left) || lt_disasm_open(&d))
		return -ENOENT;
	addr = sym.vaddr;
	for (int n = 0; n < SCAN_INSNS && cs_disasm_iter(d.cs, &p, &left, &addr, d.insn); n++) {
		const cs_x86 *x = &d.insn->detail->x86;
		const cs_x86_op *dst = &x->operands[0], *src = &x->operands[1];
		uint64_t target, v;

		if (d.insn->id == X86_INS_RET) {
			if (last) {
				*slot = last;
				ret = 0;
			}
			break;
		}
		if (d.insn->id != X86_INS_MOV || x->op_count != 2 || src->type != X86_OP_MEM ||
		    dst->type != X86_OP_REG || dst->size != 8 || src->mem.index != X86_REG_INVALID)
			continue;
		if (src->mem.base == X86_REG_RIP) {
			target = d.insn->address + d.insn->size + (uint64_t)src->mem.disp;
			if (target >= runtime && target < runtime + runtime_size) {
				if (dst->reg == X86_REG_RAX)
					last = target;
			} else if (!lt_elf_read_pointer(ef, target, &v) && v == runtime) {
				base = dst->reg;
			}
		} else if (src->mem.base == base && base != X86_REG_INVALID && src->mem.disp >= 0 &&
			   (uint64_t)src->mem.disp < runtime_size && dst->reg == X86_REG_RAX) {
			last = runtime + (uint64_t)src->mem.disp;
		}
	}
	lt_disasm_close(&d);
	return ret;
}

/* PyCriticalSection_End does nothing in builds with the GIL: [endbr64] ret. */
static int find_noop(const struct lt_elf_file *ef, uint64_t *alias)
{
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	uint8_t code[15 + 5];
	struct lt_elf_symbol sym;
	const uint8_t *body;
	size_t got;

	if (lt_elf_find_function(ef, "PyCriticalSection_End", &sym) || sym.vaddr < 15 ||
	    lt_elf_read_code(ef, sym.vaddr - 15, code, sizeof(code), &got) || got != sizeof(code))
		return -ENOENT;
	body = code + 15;
	if (!memcmp(body, endbr64, sizeof(endbr64)))
		body += sizeof(endbr64);
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
