// SPDX-License-Identifier: MIT
#include "python/python_allocator.h"

#include <errno.h>
#include <string.h>

#include "attach/disasm.h"
#include "attach/probe_site.h"

/* PyObject_Malloc reaches the table within its first few instructions. */
#define SCAN_INSNS 24
#define SCAN_BYTES 160

/* Where a register's value came from: a load of a pointer at this vaddr,
 * or (lea) the address itself. */
struct loaded {
	unsigned reg;
	uint64_t from;
	bool address;
};

static int find_loaded(const struct loaded *l, size_t n, unsigned reg)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].reg == reg)
			return (int)i;
	return -1;
}

/*
 * The vaddr a memory operand names, if it is [rip + d] or [reg + d] with reg
 * loaded from a pointer in the file (3.12+ load &_PyRuntime from the GOT).
 */
static int operand_vaddr(const struct lt_elf_file *ef, const cs_insn *insn, const cs_x86_op *op,
			 const struct loaded *l, size_t nl, uint64_t runtime, uint64_t *vaddr)
{
	uint64_t base;
	int i;

	if (op->type != X86_OP_MEM || op->mem.index != X86_REG_INVALID)
		return -ENOENT;
	if (op->mem.base == X86_REG_RIP) {
		*vaddr = insn->address + insn->size + (uint64_t)op->mem.disp;
		return 0;
	}
	i = find_loaded(l, nl, op->mem.base);
	if (i < 0)
		return -ENOENT;
	/* A GOT slot holds a symbol's address only after ld.so binds it; the
	 * one symbol PyObject_Malloc loads that way is _PyRuntime. */
	if (l[i].address)
		base = l[i].from;
	else if (lt_elf_read_pointer(ef, l[i].from, &base) || !base)
		base = runtime;
	if (!base)
		return -ENOENT;
	*vaddr = base + (uint64_t)op->mem.disp;
	return 0;
}

static bool indirect_transfer(const cs_insn *insn)
{
	return (insn->id == X86_INS_JMP || insn->id == X86_INS_CALL) &&
	       insn->detail->x86.op_count == 1 && insn->detail->x86.operands[0].type == X86_OP_MEM;
}

/*
 * The table's malloc slot: the operand of PyObject_Malloc's indirect jump
 * or call, or, in a build that inlines the default function, the pointer
 * it loads and compares with an immediate before running its copy.
 */
static int find_malloc_slot(const struct lt_elf_file *ef, const uint8_t *code, size_t len,
			    uint64_t vaddr, uint64_t runtime, uint64_t *slot, bool *inlined)
{
	struct loaded l[8];
	size_t nl = 0, left = len;
	const uint8_t *p = code;
	uint64_t addr = vaddr;
	struct lt_disasm d;
	cs_insn *insn;
	int ret = -ENOENT;

	if (lt_disasm_open(&d))
		return -ENOMEM;
	insn = d.insn;
	for (int n = 0; n < SCAN_INSNS && cs_disasm_iter(d.cs, &p, &left, &addr, insn); n++) {
		const cs_x86 *x = &insn->detail->x86;

		/* jmp reg: the slot the register was loaded from (a shared
		 * libpython reads the table off _PyRuntime's GOT address). */
		if ((insn->id == X86_INS_JMP || insn->id == X86_INS_CALL) && x->op_count == 1 &&
		    x->operands[0].type == X86_OP_REG) {
			int i = find_loaded(l, nl, x->operands[0].reg);

			if (i >= 0 && !l[i].address) {
				*slot = l[i].from;
				*inlined = false;
				ret = 0;
			}
			break;
		}
		if (indirect_transfer(insn)) {
			if (!operand_vaddr(ef, insn, &x->operands[0], l, nl, runtime, slot)) {
				*inlined = false;
				ret = 0;
			}
			break;
		}
		/* The slot compared with a function: a copy of the default one
		 * runs when they match; one of another (a hook: 3.15's shared
		 * library speculates on tracemalloc's) leaves the default called. */
		if (insn->id == X86_INS_CMP && x->op_count == 2 && x->operands[0].type == X86_OP_REG) {
			int i = find_loaded(l, nl, x->operands[0].reg), j = -1;
			uint64_t with = 0, initial;

			if (x->operands[1].type == X86_OP_IMM) {
				with = (uint64_t)x->operands[1].imm;
			} else if (x->operands[1].type == X86_OP_REG) {
				j = find_loaded(l, nl, x->operands[1].reg);
				with = j >= 0 && l[j].address ? l[j].from : 0;
			}
			if (i >= 0 && !l[i].address && with) {
				*slot = l[i].from;
				*inlined = lt_elf_read_pointer(ef, *slot, &initial) || initial == with;
				ret = 0;
				break;
			}
		}
		if (insn->id == X86_INS_LEA && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
		    x->operands[1].type == X86_OP_MEM && x->operands[1].mem.base == X86_REG_RIP &&
		    x->operands[1].mem.index == X86_REG_INVALID) {
			int i = find_loaded(l, nl, x->operands[0].reg);

			if (i < 0 && nl < sizeof(l) / sizeof(l[0]))
				i = (int)nl++;
			if (i >= 0)
				l[i] = (struct loaded){ x->operands[0].reg,
							insn->address + insn->size +
								(uint64_t)x->operands[1].mem.disp,
							true };
			continue;
		}
		if (insn->id == X86_INS_MOV && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
		    x->operands[0].size == 8 && x->operands[1].type == X86_OP_MEM) {
			uint64_t from;
			int i = find_loaded(l, nl, x->operands[0].reg);

			if (operand_vaddr(ef, insn, &x->operands[1], l, nl, runtime, &from))
				continue;
			if (i < 0 && nl < sizeof(l) / sizeof(l[0]))
				i = (int)nl++;
			if (i >= 0)
				l[i] = (struct loaded){ x->operands[0].reg, from, false };
		}
		if (insn->id == X86_INS_RET)
			break;
	}
	lt_disasm_close(&d);
	return ret;
}

static bool is_code(const struct lt_elf_file *ef, uint64_t vaddr)
{
	const struct lt_elf_symbol *sym = lt_elf_symbol_at(ef, vaddr);
	uint64_t off;

	/* A stripped file names few functions: an address inside a segment of
	 * the file is all that can be checked there. */
	return !lt_elf_vaddr_to_offset(ef, vaddr, &off) && (!sym || sym->vaddr <= vaddr);
}

/* The nearest start in the 15 bytes before fn from which only no-ops run,
 * ending exactly at fn (compilers pad between functions with them). */
static uint64_t find_alias(const struct lt_elf_file *ef, uint64_t fn)
{
	uint8_t code[15];
	size_t got;

	if (fn < sizeof(code) || lt_elf_read_code(ef, fn - sizeof(code), code, sizeof(code), &got) ||
	    got != sizeof(code))
		return 0;
	return lt_nop_alias(code, sizeof(code), fn);
}

/* The malloc slot of the table an entry point (PyObject_Malloc,
 * PyMem_Malloc) calls through, read from its code. */
static int entry_slot(const struct lt_elf_file *ef, const char *entry, uint64_t runtime,
		      uint64_t *slot, bool *inlined)
{
	uint8_t code[SCAN_BYTES];
	struct lt_elf_symbol sym;
	size_t got;

	if (lt_elf_find_function(ef, entry, &sym) ||
	    lt_elf_read_code(ef, sym.vaddr, code, sizeof(code), &got))
		return -ENOENT;
	return find_malloc_slot(ef, code, got, sym.vaddr, runtime, slot, inlined);
}

/* PyMem_Malloc's table when it starts out with the functions fn[], else 0. */
static uint64_t same_functions_table(const struct lt_elf_file *ef, uint64_t runtime,
				     const uint64_t *fn)
{
	uint64_t slot, v;
	bool inlined;

	if (entry_slot(ef, "PyMem_Malloc", runtime, &slot, &inlined))
		return 0;
	for (int i = 0; i < LT_PY_ALLOC_COUNT; i++)
		if (lt_elf_read_pointer(ef, slot + 8 * (uint64_t)i, &v) || v != fn[i])
			return 0;
	return slot - 8;
}

int lt_py_find_allocator(const struct lt_elf_file *ef, uint64_t runtime,
			 struct lt_py_allocator *out)
{
	uint64_t slot;
	int err;

	memset(out, 0, sizeof(*out));
	err = entry_slot(ef, "PyObject_Malloc", runtime, &slot, &out->inlined);
	if (err)
		return err;
	/* struct PyMemAllocatorEx { ctx; malloc; calloc; realloc; free; } */
	out->table = slot - 8;
	for (int i = 0; i < LT_PY_ALLOC_COUNT; i++) {
		if (lt_elf_read_pointer(ef, slot + 8 * (uint64_t)i, &out->fn[i]) || !out->fn[i] ||
		    !is_code(ef, out->fn[i])) {
			memset(out, 0, sizeof(*out));
			return -ENOENT;
		}
		out->alias[i] = find_alias(ef, out->fn[i]);
	}
	out->mem_table = same_functions_table(ef, runtime, out->fn);
	return 0;
}
