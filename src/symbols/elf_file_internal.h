/* SPDX-License-Identifier: MIT */
/*
 * What an opened ELF file holds, shared by the files that read it:
 * elf_file.c (headers, segments, symbols, relocations) and elf_dwarf.c
 * (source lines and inline chains). Not for use outside symbols/elf_*.c.
 */
#ifndef LT_ELF_FILE_INTERNAL_H
#define LT_ELF_FILE_INTERNAL_H

#include <elfutils/libdw.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbols/elf_file.h"

/* Preference among symbols of the same name or address; lower is better. */
enum sym_rank {
	RANK_GLOBAL,
	RANK_WEAK,
	RANK_LOCAL,
	RANK_HIDDEN_VERSION, /* an old version kept for binary compatibility */
};

struct elf_segment {
	uint64_t vaddr, memsz;
	uint64_t offset, filesz;
	bool exec;
};

struct addr_range {
	uint64_t start, end;
};

struct raw_sym {
	struct lt_elf_symbol sym;
	enum sym_rank rank;
};

struct name_entry {
	const struct lt_elf_symbol *sym;
	enum sym_rank rank;
};

struct lt_elf_file {
	int fd;
	Elf *elf;
	uint64_t file_size;
	bool is_dyn;
	char build_id[LT_ELF_BUILD_ID_LEN];

	struct elf_segment *segs;
	size_t nsegs;
	/* Executable sections (or segments), bounding symbols of size 0. */
	struct addr_range *exec;
	size_t nexec;

	struct lt_elf_symbol *syms; /* by address, best alias first */
	uint64_t *sym_end;          /* effective end of each syms[i] */
	size_t nsyms;
	struct name_entry *by_name; /* by base name, best rank first */

	Dwarf *dwarf;
	bool dwarf_tried;
};

#endif
