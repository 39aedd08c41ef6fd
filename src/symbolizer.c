// SPDX-License-Identifier: MIT
#include "symbolizer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "demangle.h"
#include "elf_file.h"
#include "module_cache.h"

int lt_symbolize_frame(const struct lt_frame_loc *loc, uint64_t ip, struct lt_report_frame *out)
{
	const struct lt_elf_symbol *sym;
	struct lt_elf_file *ef;
	const char *file;
	uint64_t lookup;
	int line;

	memset(out, 0, sizeof(*out));
	out->addr = ip;
	out->build_id = "";
	if (!loc || !loc->module)
		return 0;
	out->module = loc->module->path;
	out->module_offset = loc->elf_vaddr;
	ef = loc->module->elf;
	if (!ef)
		return 0;
	out->build_id = lt_elf_build_id(ef);
	lookup = loc->elf_vaddr ? loc->elf_vaddr - 1 : 0;
	/* A debug file's .symtab names static functions .dynsym lacks. */
	sym = loc->module->debug ? lt_elf_symbol_at(loc->module->debug, lookup) : NULL;
	if (!sym)
		sym = lt_elf_symbol_at(ef, lookup);
	if (sym) {
		out->func = lt_demangle(sym->name);
		if (!out->func)
			return -ENOMEM;
		out->func_offset = loc->elf_vaddr - sym->vaddr;
	}
	if ((loc->module->debug &&
	     !lt_elf_source_line(loc->module->debug, lookup, &file, &line)) ||
	    !lt_elf_source_line(ef, lookup, &file, &line)) {
		out->file = strdup(file);
		if (!out->file)
			return -ENOMEM;
		out->line = line;
	}
	return 0;
}

void lt_report_frame_clear(struct lt_report_frame *f)
{
	free(f->func);
	free(f->file);
	memset(f, 0, sizeof(*f));
}
