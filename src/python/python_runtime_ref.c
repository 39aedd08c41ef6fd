// SPDX-License-Identifier: MIT
#include "python/python_runtime_ref.h"

void lt_py_runtime_ref_init(struct lt_py_runtime_ref *r, const struct lt_elf_file *ef,
			    uint64_t runtime, uint64_t size)
{
	r->ef = ef;
	r->runtime = runtime;
	r->size = size;
	r->base = X86_REG_INVALID;
}

uint64_t lt_py_runtime_ref_operand(const struct lt_py_runtime_ref *r, const cs_insn *insn,
				   const cs_x86_op *op)
{
	uint64_t addr;

	if (op->type != X86_OP_MEM || op->mem.index != X86_REG_INVALID ||
	    op->mem.segment != X86_REG_INVALID)
		return 0;
	if (op->mem.base == X86_REG_RIP)
		addr = insn->address + insn->size + (uint64_t)op->mem.disp;
	else if (op->mem.base == r->base && r->base != X86_REG_INVALID && op->mem.disp >= 0)
		addr = r->runtime + (uint64_t)op->mem.disp;
	else
		return 0;
	return addr >= r->runtime && addr < r->runtime + r->size ? addr : 0;
}

void lt_py_runtime_ref_step(struct lt_py_runtime_ref *r, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	const cs_x86_op *dst = &x->operands[0], *src = &x->operands[1];
	uint64_t v;

	if (x->op_count != 2 || dst->type != X86_OP_REG)
		return;
	if (insn->id == X86_INS_MOV && dst->size == 8 && src->type == X86_OP_MEM &&
	    src->mem.base == X86_REG_RIP && src->mem.index == X86_REG_INVALID &&
	    !lt_elf_read_pointer(r->ef, insn->address + insn->size + (uint64_t)src->mem.disp, &v) &&
	    v == r->runtime)
		r->base = dst->reg;
	else if (dst->reg == r->base)
		r->base = X86_REG_INVALID;
}
