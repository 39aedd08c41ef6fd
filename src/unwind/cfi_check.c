// SPDX-License-Identifier: MIT
/*
 * Formats: "Exception Frame Header" and "DWARF Extensions" of the LSB
 * (.eh_frame, .eh_frame_hdr, augmentations), DWARF 4 section 6.4 (call
 * frame instructions). libdw frames the entries (dwarf_next_cfi); this file
 * reads the programs in them, the way libdw's interpreter will.
 */
#include "unwind/cfi_check.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define EH_PE_OMIT 0xff
#define EH_PE_ALIGNED 0x50

/*
 * bad: a LEB128 number libdw does not read as one. It takes at most 10
 * bytes of a ULEB128 and 9 of an SLEB128, and one it cannot end there or
 * before the end of the program becomes UINT64_MAX (INT64_MAX), after
 * which it goes on reading at the next byte: a register number of
 * UINT64_MAX overflows libdw's frame size, and the rest of the program is
 * read from the middle of the number. No assembler writes such a number.
 */
struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

#define ULEB128_MAX_BYTES 10
#define SLEB128_MAX_BYTES 9

static bool skip(struct cursor *c, uint64_t n)
{
	if ((uint64_t)(c->end - c->p) < n)
		return false;
	c->p += n;
	return true;
}

static bool read_u8(struct cursor *c, uint8_t *v)
{
	if (c->p >= c->end)
		return false;
	*v = *c->p++;
	return true;
}

static bool read_leb(struct cursor *c, unsigned max_bytes, uint64_t *v)
{
	uint64_t value = 0;
	uint8_t b;

	for (unsigned i = 0; i < max_bytes && read_u8(c, &b); i++) {
		value |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = value;
			return true;
		}
	}
	c->bad = true;
	return false;
}

static bool read_uleb(struct cursor *c, uint64_t *v)
{
	return read_leb(c, ULEB128_MAX_BYTES, v);
}

/* Signed values are only stepped over. */
static bool skip_sleb(struct cursor *c)
{
	uint64_t ignored;

	return read_leb(c, SLEB128_MAX_BYTES, &ignored);
}

/* Moves past one DW_EH_PE_ encoded value. -EINVAL for an encoding this
 * file does not know, -ENODATA when the bytes end first. */
static int skip_encoded(struct cursor *c, uint8_t enc)
{
	uint64_t ignored;
	uint64_t size;

	if (enc == EH_PE_OMIT)
		return 0;
	if ((enc & 0x70) == EH_PE_ALIGNED)
		return -EINVAL; /* padding that depends on the address: never on x86-64 */
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
		size = 8;
		break;
	case DW_EH_PE_udata2:
	case DW_EH_PE_sdata2:
		size = 2;
		break;
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		size = 4;
		break;
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		size = 8;
		break;
	case DW_EH_PE_uleb128:
		return read_uleb(c, &ignored) ? 0 : -EINVAL;
	case DW_EH_PE_sleb128:
		return skip_sleb(c) ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
	return skip(c, size) ? 0 : -ENODATA;
}

static int check_register(struct cursor *c, bool *ok)
{
	uint64_t reg;

	*ok = read_uleb(c, &reg);
	return *ok && reg >= LT_CFI_MAX_REGISTER ? -EINVAL : 0;
}

/*
 * One program, as libdw's interpreter reads it. Where libdw would stop (an
 * unknown instruction, a fixed-size operand cut short by the end) this
 * stops too, with 0: nothing after it ever runs. A LEB128 number cut short
 * does not stop libdw (see struct cursor): -EINVAL.
 */
static int check_program(const uint8_t *start, const uint8_t *end, uint8_t fde_enc)
{
	struct cursor c = { .p = start, .end = end };
	uint64_t len;
	unsigned depth = 0;
	bool ok = true;
	uint8_t op;
	int err = 0;

	if (end - start > LT_CFI_MAX_PROGRAM)
		return -EINVAL;
	while (!err && ok && read_u8(&c, &op)) {
		switch (op & 0xc0) {
		case DW_CFA_advance_loc:
		case DW_CFA_restore:
			continue; /* operand in the opcode's low 6 bits */
		case DW_CFA_offset:
			ok = read_uleb(&c, &len); /* register in the low 6 bits */
			continue;
		}
		switch (op) {
		case DW_CFA_nop:
		case DW_CFA_GNU_window_save:
			break;
		case DW_CFA_remember_state:
			if (++depth > LT_CFI_MAX_STATES)
				return -EINVAL;
			break;
		case DW_CFA_restore_state:
			ok = depth > 0; /* libdw refuses the program there */
			depth -= ok;
			break;
		case DW_CFA_set_loc:
			err = skip_encoded(&c, fde_enc);
			ok = err != -ENODATA;
			err = err == -ENODATA ? 0 : err;
			break;
		case DW_CFA_advance_loc1:
			ok = skip(&c, 1);
			break;
		case DW_CFA_advance_loc2:
			ok = skip(&c, 2);
			break;
		case DW_CFA_advance_loc4:
			ok = skip(&c, 4);
			break;
		case DW_CFA_MIPS_advance_loc8:
			ok = skip(&c, 8);
			break;
		case DW_CFA_offset_extended:
		case DW_CFA_val_offset:
		case DW_CFA_GNU_negative_offset_extended:
		case DW_CFA_def_cfa:
			err = check_register(&c, &ok);
			ok = ok && read_uleb(&c, &len);
			break;
		case DW_CFA_offset_extended_sf:
		case DW_CFA_val_offset_sf:
		case DW_CFA_def_cfa_sf:
			err = check_register(&c, &ok);
			ok = ok && skip_sleb(&c);
			break;
		case DW_CFA_restore_extended:
		case DW_CFA_undefined:
		case DW_CFA_same_value:
		case DW_CFA_def_cfa_register:
			err = check_register(&c, &ok);
			break;
		case DW_CFA_register:
			err = check_register(&c, &ok);
			if (!err && ok)
				err = check_register(&c, &ok);
			break;
		case DW_CFA_def_cfa_offset:
		case DW_CFA_GNU_args_size:
			ok = read_uleb(&c, &len);
			break;
		case DW_CFA_def_cfa_offset_sf:
			ok = skip_sleb(&c);
			break;
		case DW_CFA_def_cfa_expression:
			ok = read_uleb(&c, &len) && skip(&c, len);
			break;
		case DW_CFA_expression:
		case DW_CFA_val_expression:
			err = check_register(&c, &ok);
			ok = ok && read_uleb(&c, &len) && skip(&c, len);
			break;
		default:
			return 0;
		}
	}
	return c.bad ? -EINVAL : err;
}

struct cie_facts {
	uint8_t fde_enc;
	bool has_length; /* 'z': FDEs say how much augmentation data they have */
};

/* What FDEs need from their CIE, from its augmentation string and data. */
static int read_cie(const Dwarf_CIE *cie, struct cie_facts *out)
{
	struct cursor c = { .p = cie->augmentation_data,
			    .end = cie->augmentation_data + cie->augmentation_data_size };
	const char *aug = cie->augmentation;
	uint8_t penc;
	int err;

	out->fde_enc = DW_EH_PE_absptr;
	out->has_length = false;
	if (cie->return_address_register >= LT_CFI_MAX_REGISTER)
		return -EINVAL;
	if (!aug[0])
		return 0;
	/* "eh" (GCC 2) and the like: data of unknown size before the program. */
	if (aug[0] != 'z' || !cie->augmentation_data)
		return -EINVAL;
	out->has_length = true;
	for (aug++; *aug; aug++) {
		switch (*aug) {
		case 'R':
			if (!read_u8(&c, &out->fde_enc))
				return -EINVAL;
			break;
		case 'P':
			if (!read_u8(&c, &penc))
				return -EINVAL;
			err = skip_encoded(&c, penc);
			if (err)
				return -EINVAL;
			break;
		case 'L':
			if (!skip(&c, 1))
				return -EINVAL;
			break;
		case 'S':
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

static int check_cie(const Dwarf_CIE *cie, struct cie_facts *facts)
{
	int err = read_cie(cie, facts);

	if (err)
		return err;
	return check_program(cie->initial_instructions, cie->initial_instructions_end,
			     facts->fde_enc);
}

/* The FDE and the CIE it names; 0 as well when libdw could not read them. */
static int check_fde(const unsigned char *e_ident, Elf_Data *data, const Dwarf_FDE *fde)
{
	struct cursor c = { .p = fde->start, .end = fde->end };
	struct cie_facts facts;
	Dwarf_CFI_Entry cie;
	Dwarf_Off next;
	uint64_t len;
	int err;

	if (dwarf_next_cfi(e_ident, data, true, fde->CIE_pointer, &next, &cie) ||
	    cie.CIE_id != LIBDW_CIE_ID)
		return 0;
	err = check_cie(&cie.cie, &facts);
	if (err)
		return err;
	/* initial_location, address_range, augmentation data, then the program. */
	err = skip_encoded(&c, facts.fde_enc);
	if (!err)
		err = skip_encoded(&c, facts.fde_enc & 0x0f);
	if (err)
		return err == -ENODATA ? 0 : err;
	if (facts.has_length && !(read_uleb(&c, &len) && skip(&c, len)))
		return c.bad ? -EINVAL : 0;
	return check_program(c.p, c.end, facts.fde_enc);
}

static int check_entry_at(const unsigned char *e_ident, Elf_Data *data, Dwarf_Off off,
			  Dwarf_Off *next)
{
	struct cie_facts facts;
	Dwarf_CFI_Entry entry;
	int ret;

	*next = off;
	ret = dwarf_next_cfi(e_ident, data, true, off, next, &entry);
	if (ret)
		return ret > 0 ? 1 : -ENODATA;
	if (entry.CIE_id == LIBDW_CIE_ID)
		return check_cie(&entry.cie, &facts);
	return check_fde(e_ident, data, &entry.fde);
}

int lt_cfi_check(const unsigned char *e_ident, Elf_Data *eh_frame, uint64_t eh_frame_vaddr,
		 const uint8_t *table, uint64_t fde_count, uint64_t hdr_vaddr)
{
	Dwarf_Off off = 0, next;
	int err;

	/* From the start, as libdw walks when it has no search table. An
	 * unreadable entry it skips if it can, as libdw does. */
	while (off < eh_frame->d_size) {
		err = check_entry_at(e_ident, eh_frame, off, &next);
		if (err == 1 || (err == -ENODATA && next <= off))
			break;
		if (err && err != -ENODATA)
			return err;
		if (next <= off)
			break;
		off = next;
	}
	/* Through the table, which may point anywhere in the section. */
	for (uint64_t i = 0; table && i < fde_count; i++) {
		int32_t rel;
		uint64_t fde_vaddr;

		memcpy(&rel, table + 8 * i + 4, sizeof(rel));
		fde_vaddr = hdr_vaddr + (uint64_t)(int64_t)rel;
		if (fde_vaddr < eh_frame_vaddr || fde_vaddr - eh_frame_vaddr >= eh_frame->d_size)
			continue;
		err = check_entry_at(e_ident, eh_frame, fde_vaddr - eh_frame_vaddr, &next);
		if (err && err != 1 && err != -ENODATA)
			return err;
	}
	return 0;
}
