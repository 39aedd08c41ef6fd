/* SPDX-License-Identifier: MIT */
/*
 * capstone for x86-64 with instruction details (operands, registers
 * written), and one instruction buffer to decode into: what every reader
 * of machine code here (probe placement, the Python allocator's table)
 * needs.
 */
#ifndef LT_DISASM_H
#define LT_DISASM_H

#include <capstone/capstone.h>

struct lt_disasm {
	csh cs;
	cs_insn *insn;
};

/* Returns 0 or -ENOMEM; on failure nothing is left open. */
int lt_disasm_open(struct lt_disasm *d);
void lt_disasm_close(struct lt_disasm *d);

#endif
