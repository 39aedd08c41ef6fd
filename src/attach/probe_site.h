/* SPDX-License-Identifier: MIT */
/*
 * Where to put an entry uprobe inside a function. The kernel emulates a few
 * x86-64 instructions at a probe site (push reg, nop, jmp/jcc/call rel) and
 * single-steps every other one out of line, which costs a second trap: ~15 us
 * instead of ~1.2 us per call in a VM. A probe may move to the first
 * emulated instruction as long as everything before it leaves the argument
 * registers alone and cannot branch away; a return probe also needs the
 * return address still at [rsp], so nothing before it may move rsp (the
 * kernel swaps that address for its trampoline's when the probe fires).
 */
#ifndef LT_PROBE_SITE_H
#define LT_PROBE_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Argument registers the BPF program reads at the probe (System V order). */
enum lt_arg_reg {
	LT_ARG_RDI = 1 << 0,
	LT_ARG_RSI = 1 << 1,
	LT_ARG_RDX = 1 << 2,
	LT_ARG_RCX = 1 << 3,
	LT_ARG_R8 = 1 << 4,
	LT_ARG_R9 = 1 << 5,
};

#define LT_INSN_TEXT_LEN 64

struct lt_probe_site {
	uint64_t offset;                     /* from the function start */
	bool emulated;                       /* the instruction there is emulated */
	char insn[LT_INSN_TEXT_LEN];         /* that instruction, as text */
	bool first_emulated;                 /* the same for the instruction at +0 */
	char first_insn[LT_INSN_TEXT_LEN];
};

/* Does the kernel emulate this instruction at a uprobe (no single-step)? */
bool lt_insn_is_emulated(const uint8_t *bytes, size_t len);
/* Is it a no-op (nop, a multi-byte nop, or either with 0x66/segment
 * prefixes), which the kernel also emulates? */
bool lt_insn_is_nop(const uint8_t *bytes, size_t len);
/* Does code (at least 4 bytes) start with endbr64? Where user space does
 * not enforce indirect-branch tracking (Linux does not), it is a no-op. */
bool lt_insn_is_endbr64(const uint8_t *code);

/* The padding before a function, as an entry to it: before holds the len
 * bytes just before fn. Returns the nearest address before fn from which
 * only no-ops run exactly into fn (the same function to a caller, entered at an address
 * other than its own), or 0 when there is none. */
uint64_t lt_nop_alias(const uint8_t *before, size_t len, uint64_t fn);

/*
 * code: the function's bytes from its start (its symbol size, capped);
 * vaddr: its address, for branch targets. needed_args: registers the probe
 * reads. with_return: the function's return probe goes to the same site.
 * Always fills out (offset 0 when nothing better is safe). Returns 0, or
 * -EINVAL when the first instruction cannot be decoded.
 */
int lt_probe_site_choose(const uint8_t *code, size_t len, uint64_t vaddr, unsigned needed_args,
			 bool with_return, struct lt_probe_site *out);

/*
 * A wrapper that only checks a flag and tail-jumps to the real function
 * (3.13's Py_FinalizeEx, whose callers inside the library call the target
 * directly): the target of its first direct jmp out of [vaddr, vaddr+len).
 * Returns 0, or -ENOENT when code (at most 64 bytes) has no such jump.
 */
int lt_tail_call_target(const uint8_t *code, size_t len, uint64_t vaddr, uint64_t *target);

#endif
