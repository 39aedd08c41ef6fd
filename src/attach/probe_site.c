// SPDX-License-Identifier: MIT
#include "attach/probe_site.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "attach/disasm.h"

/* How far into a function a probe may move. */
#define LT_SITE_MAX_INSNS 16
#define LT_SITE_MAX_BYTES 64

bool lt_insn_is_emulated(const uint8_t *b, size_t n)
{
	size_t i = 0;
	bool opsize = false;
	uint8_t rex = 0, op;

	/* 0x66 and segment prefixes appear only on multi-byte nops here. */
	while (i < n && (b[i] == 0x66 || b[i] == 0x2e || b[i] == 0x3e)) {
		opsize |= b[i] == 0x66;
		i++;
	}
	if (i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i >= n)
		return false;
	op = b[i];
	if (op >= 0x50 && op <= 0x57) /* push reg; REX.B selects r8-r15 */
		return !opsize && !(rex & 0x08) && i + 1 == n;
	if (op == 0x90) /* nop; with REX.B it is xchg r8, rax */
		return !(rex & 0x01);
	if (op == 0x0f && i + 1 < n && b[i + 1] == 0x1f) /* multi-byte nop */
		return true;
	if (opsize || rex)
		return false; /* prefixed branches are single-stepped */
	if (op == 0xe8 || op == 0xe9 || op == 0xeb || (op >= 0x70 && op <= 0x7f))
		return true;
	return op == 0x0f && i + 1 < n && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f;
}

bool lt_insn_is_nop(const uint8_t *b, size_t n)
{
	size_t i = 0;
	uint8_t rex = 0;

	while (i < n && (b[i] == 0x66 || b[i] == 0x2e || b[i] == 0x3e))
		i++;
	if (i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i >= n)
		return false;
	if (b[i] == 0x90) /* with REX.B it is xchg r8, rax */
		return !(rex & 0x01) && i + 1 == n;
	return b[i] == 0x0f && i + 1 < n && b[i + 1] == 0x1f;
}

bool lt_insn_is_endbr64(const uint8_t *code)
{
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };

	return !memcmp(code, endbr64, sizeof(endbr64));
}

uint64_t lt_nop_alias(const uint8_t *before, size_t len, uint64_t fn)
{
	struct lt_disasm d;
	uint64_t found = 0;

	if (fn < len || lt_disasm_open(&d))
		return 0;
	for (size_t k = 1; k <= len && !found; k++) {
		const uint8_t *p = before + len - k;
		uint64_t addr = fn - k;
		size_t left = k;
		bool nops = true;

		while (nops && left && cs_disasm_iter(d.cs, &p, &left, &addr, d.insn))
			nops = lt_insn_is_nop(d.insn->bytes, d.insn->size);
		if (nops && !left && addr == fn)
			found = fn - k;
	}
	lt_disasm_close(&d);
	return found;
}

static unsigned arg_of_reg(unsigned reg)
{
	switch (reg) {
	case X86_REG_RDI: case X86_REG_EDI: case X86_REG_DI: case X86_REG_DIL:
		return LT_ARG_RDI;
	case X86_REG_RSI: case X86_REG_ESI: case X86_REG_SI: case X86_REG_SIL:
		return LT_ARG_RSI;
	case X86_REG_RDX: case X86_REG_EDX: case X86_REG_DX: case X86_REG_DL: case X86_REG_DH:
		return LT_ARG_RDX;
	case X86_REG_RCX: case X86_REG_ECX: case X86_REG_CX: case X86_REG_CL: case X86_REG_CH:
		return LT_ARG_RCX;
	case X86_REG_R8: case X86_REG_R8D: case X86_REG_R8W: case X86_REG_R8B:
		return LT_ARG_R8;
	case X86_REG_R9: case X86_REG_R9D: case X86_REG_R9W: case X86_REG_R9B:
		return LT_ARG_R9;
	}
	return 0;
}

#define LT_WRITES_RSP (1u << 31)

/* Argument registers the instruction writes, and LT_WRITES_RSP. */
static unsigned regs_written(csh cs, const cs_insn *insn)
{
	cs_regs read, written;
	uint8_t nread, nwritten;
	unsigned mask = 0;

	if (cs_regs_access(cs, insn, read, &nread, written, &nwritten) != CS_ERR_OK)
		return ~0u; /* unknown: assume the worst */
	for (uint8_t i = 0; i < nwritten; i++) {
		mask |= arg_of_reg(written[i]);
		if (written[i] == X86_REG_RSP || written[i] == X86_REG_ESP || written[i] == X86_REG_SP)
			mask |= LT_WRITES_RSP;
	}
	return mask;
}

static bool changes_flow(const cs_insn *insn)
{
	for (uint8_t i = 0; i < insn->detail->groups_count; i++) {
		switch (insn->detail->groups[i]) {
		case CS_GRP_JUMP:
		case CS_GRP_CALL:
		case CS_GRP_RET:
		case CS_GRP_INT:
		case CS_GRP_IRET:
			return true;
		}
	}
	return insn->id == X86_INS_SYSCALL || insn->id == X86_INS_SYSENTER ||
	       insn->id == X86_INS_UD2 || insn->id == X86_INS_HLT;
}

/*
 * Does code in the function branch into [lo, hi]? A site there, or after
 * skipped bytes there, would fire again without a new call (a loop back
 * into the prologue), or on a path that never ran the skipped checks.
 */
static bool branches_into(csh cs, const uint8_t *code, size_t len, uint64_t vaddr, uint64_t lo,
			  uint64_t hi)
{
	const uint8_t *p = code;
	uint64_t addr = vaddr;
	size_t left = len;
	cs_insn *insn = cs_malloc(cs);
	bool hit = false;

	if (!insn)
		return true;
	while (!hit && cs_disasm_iter(cs, &p, &left, &addr, insn)) {
		const cs_x86 *x = &insn->detail->x86;

		if (!(cs_insn_group(cs, insn, CS_GRP_JUMP) || cs_insn_group(cs, insn, CS_GRP_CALL)))
			continue;
		for (uint8_t i = 0; i < x->op_count; i++)
			if (x->operands[i].type == X86_OP_IMM && (uint64_t)x->operands[i].imm >= lo &&
			    (uint64_t)x->operands[i].imm <= hi)
				hit = true;
	}
	cs_free(insn, 1);
	return hit;
}

static void describe(const cs_insn *insn, char *buf)
{
	/* Long operands are cut: this text is only for -v. */
	snprintf(buf, LT_INSN_TEXT_LEN, "%.31s%s%.*s", insn->mnemonic, insn->op_str[0] ? " " : "",
		 LT_INSN_TEXT_LEN - 33, insn->op_str);
}

int lt_probe_site_choose(const uint8_t *code, size_t len, uint64_t vaddr, unsigned needed_args,
			 bool with_return, struct lt_probe_site *out)
{
	const uint8_t *p = code;
	size_t left = len < LT_SITE_MAX_BYTES ? len : LT_SITE_MAX_BYTES;
	uint64_t addr = vaddr;
	struct lt_disasm d;
	cs_insn *insn;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (lt_disasm_open(&d))
		return -ENOMEM;
	insn = d.insn;
	for (int n = 0; n < LT_SITE_MAX_INSNS && cs_disasm_iter(d.cs, &p, &left, &addr, insn); n++) {
		uint64_t off = insn->address - vaddr;
		bool emulated = lt_insn_is_emulated(insn->bytes, insn->size);

		if (n == 0) {
			out->first_emulated = emulated;
			describe(insn, out->first_insn);
			out->emulated = emulated;
			describe(insn, out->insn);
			ret = 0;
		}
		if (emulated) {
			if (n == 0 ||
			    !branches_into(d.cs, code, len, vaddr, vaddr + 1, insn->address)) {
				out->offset = off;
				out->emulated = true;
				describe(insn, out->insn);
			}
			break;
		}
		/* What runs before a later site must keep the arguments and the path,
		 * and for a return probe the return address at [rsp]. */
		if (changes_flow(insn) ||
		    (regs_written(d.cs, insn) & (needed_args | (with_return ? LT_WRITES_RSP : 0))))
			break;
	}
	lt_disasm_close(&d);
	return ret;
}

int lt_tail_call_target(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *target)
{
	const uint8_t *p = code;
	size_t left = len;
	uint64_t addr = vaddr;
	struct lt_disasm d;
	int ret = -ENOENT;

	if (len > LT_SITE_MAX_BYTES)
		return -ENOENT;
	if (lt_disasm_open(&d))
		return -ENOMEM;
	while (cs_disasm_iter(d.cs, &p, &left, &addr, d.insn)) {
		const cs_x86 *x = &d.insn->detail->x86;
		uint64_t to;

		if (d.insn->id == X86_INS_CALL)
			break;
		if (d.insn->id != X86_INS_JMP || x->op_count != 1 ||
		    x->operands[0].type != X86_OP_IMM)
			continue;
		to = (uint64_t)x->operands[0].imm;
		if (to >= vaddr && to < vaddr + len)
			continue;
		*target = to;
		ret = 0;
		break;
	}
	lt_disasm_close(&d);
	return ret;
}
