// SPDX-License-Identifier: MIT
/*
 * An ELF file's DWARF: source lines and the chain of inlined calls at an
 * address, read with libdw once the file's own checks (elf_file.c) passed.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/elf_file.h"
#include "symbols/elf_file_internal.h"

static bool is_string_section(const char *name)
{
	static const char *const names[] = {
		".debug_str", ".debug_line_str", ".zdebug_str", ".zdebug_line_str",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i]))
			return true;
	}
	return false;
}

/*
 * libdw runs strlen() on offsets into the DWARF string sections without a
 * bound, so a corrupt file whose string section lacks its final NUL makes it
 * read past the buffer. Called after dwarf_begin_elf(), which has already
 * replaced compressed sections by their decompressed data.
 */
static bool string_sections_terminated(Elf *elf)
{
	Elf_Scn *scn = NULL;
	const char *name;
	Elf_Data *data;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || !is_string_section(name))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			return false;
		if (data->d_size && (!data->d_buf ||
				     ((const char *)data->d_buf)[data->d_size - 1] != '\0'))
			return false;
	}
	return true;
}

static Dwarf *get_dwarf(struct lt_elf_file *ef)
{
	if (ef->dwarf_tried)
		return ef->dwarf;
	ef->dwarf_tried = true;
	ef->dwarf = dwarf_begin_elf(ef->elf, DWARF_C_READ, NULL);
	if (ef->dwarf && !string_sections_terminated(ef->elf)) {
		dwarf_end(ef->dwarf);
		ef->dwarf = NULL;
	}
	return ef->dwarf;
}

/* Without .debug_aranges libdw may not map the address; walk the CUs instead. */
static bool find_cu(Dwarf *dw, uint64_t vaddr, Dwarf_Die *cudie)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (dwarf_addrdie(dw, vaddr, cudie))
		return true;
	while (!dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL)) {
		if (dwarf_offdie(dw, off + hsize, cudie) && dwarf_haspc(cudie, vaddr) > 0)
			return true;
		off = next;
	}
	return false;
}

int lt_elf_source_line(struct lt_elf_file *ef, uint64_t vaddr, const char **file, int *line)
{
	Dwarf *dw = get_dwarf(ef);
	Dwarf_Die cudie;
	Dwarf_Line *dl;
	const char *src;
	int lineno;

	if (!dw || !find_cu(dw, vaddr, &cudie))
		return -ENOENT;
	dl = dwarf_getsrc_die(&cudie, vaddr);
	if (!dl || dwarf_lineno(dl, &lineno) || lineno <= 0)
		return -ENOENT;
	src = dwarf_linesrc(dl, NULL, NULL);
	if (!src)
		return -ENOENT;
	*file = src;
	*line = lineno;
	return 0;
}

static const char *die_function_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	/* Through DW_AT_abstract_origin: inlined instances carry no name. */
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr)) {
		name = dwarf_formstring(&attr);
		if (name)
			return name;
	}
	if (dwarf_attr_integrate(die, DW_AT_name, &attr))
		return dwarf_formstring(&attr);
	return NULL;
}

static void call_site(Dwarf_Die *cudie, Dwarf_Die *inlined, const char **file, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word idx, ln;
	Dwarf_Files *files;
	size_t nfiles;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &ln) == 0)
		*line = ln > INT32_MAX ? 0 : (int)ln;
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &idx) == 0 &&
	    dwarf_getsrcfiles(cudie, &files, &nfiles) == 0 && idx < nfiles)
		*file = dwarf_filesrc(files, idx, NULL, NULL);
}

/* No compiler nests scopes anywhere near this deep. */
#define MAX_SCOPE_DEPTH 256

/*
 * The innermost DIE below cudie whose ranges hold vaddr: the scope
 * dwarf_getscopes() would find first. Not dwarf_getscopes() itself: it goes
 * on to an inlined instance's abstract origin, which is not needed here,
 * and leaks its result when that origin is missing (corrupt DWARF).
 */
static bool innermost_die(Dwarf_Die *cudie, uint64_t vaddr, Dwarf_Die *out)
{
	Dwarf_Die die = *cudie, child;
	bool found = false;

	for (int depth = 0; depth < MAX_SCOPE_DEPTH; depth++) {
		bool deeper = false;

		if (dwarf_child(&die, &child))
			break;
		do {
			if (dwarf_haspc(&child, vaddr) > 0) {
				die = child;
				found = deeper = true;
				break;
			}
		} while (!dwarf_siblingof(&child, &child));
		if (!deeper)
			break;
	}
	*out = die;
	return found;
}

int lt_elf_inline_chain(struct lt_elf_file *ef, uint64_t vaddr, struct lt_inline_frame *out,
			int max, const char **outer_file, int *outer_line)
{
	Dwarf *dw = get_dwarf(ef);
	Dwarf_Die cudie, innermost, *scopes = NULL;
	const char *file;
	int nscopes = 0, n = 0, line;

	if (!dw || !find_cu(dw, vaddr, &cudie) || lt_elf_source_line(ef, vaddr, &file, &line))
		return 0;
	if (innermost_die(&cudie, vaddr, &innermost))
		nscopes = dwarf_getscopes_die(&innermost, &scopes);
	/* Innermost first: each inlined call is a frame at the line it has
	 * reached; the function it sits in continues at the call site. */
	for (int i = 0; i < nscopes && n < max; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag == DW_TAG_subprogram)
			break;
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		out[n].name = die_function_name(&scopes[i]);
		out[n].file = file;
		out[n].line = line;
		n++;
		call_site(&cudie, &scopes[i], &file, &line);
	}
	free(scopes);
	*outer_file = file;
	*outer_line = line;
	return n;
}
