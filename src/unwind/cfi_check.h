/* SPDX-License-Identifier: MIT */
/*
 * A look at .eh_frame before libdw runs its programs. libdw grows the frame
 * it computes for an address to the highest register a rule of the program
 * names, up to 2^27 registers (2 GiB, zeroed) per lookup, keeps a copy of
 * it per DW_CFA_remember_state, and runs the program from its start for
 * every lookup: a few bytes of a hostile file would cost gigabytes and
 * minutes. Compilers name registers below 128 (x86-64 DWARF numbering ends
 * at the AVX-512 masks, 118-125), nest remember_state once or twice, and
 * write FDE programs of at most a few KiB (2.4 KiB in libLLVM-14).
 */
#ifndef LT_CFI_CHECK_H
#define LT_CFI_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <libelf.h>

#define LT_CFI_MAX_REGISTER 256
#define LT_CFI_MAX_STATES 64
/* CIE initial instructions or FDE instructions, each. */
#define LT_CFI_MAX_PROGRAM 8192

/*
 * Checks every CIE and FDE of eh_frame (the section's bytes, loaded at
 * eh_frame_vaddr) that libdw can reach: walking from its start, and through
 * the .eh_frame_hdr search table of fde_count entries (pairs of DW_EH_PE_
 * datarel|sdata4 values relative to hdr_vaddr; NULL for none). Returns 0,
 * or -EINVAL when some program breaks the bounds above or cannot be told
 * apart from its data (augmentations no compiler writes).
 */
int lt_cfi_check(const unsigned char *e_ident, Elf_Data *eh_frame, uint64_t eh_frame_vaddr,
		 const uint8_t *table, uint64_t fde_count, uint64_t hdr_vaddr);

#endif
