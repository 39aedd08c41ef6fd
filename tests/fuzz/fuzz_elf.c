// SPDX-License-Identifier: MIT
/*
 * ELF files of traced processes (elf_file.h, debug_file.h, python_target.h):
 * the input is a whole file. It is opened the way module_cache.c opens a
 * mapped file, then asked what symbolization asks: build-id, symbols by
 * name and address, address translation, DWARF lines and inline chains
 * (through libdw), debuglink and MiniDebugInfo, and, when it looks like a
 * Python interpreter, the version and layout checks.
 */
#include <stdint.h>
#include <stdio.h>

#include "fuzz_common.h"

#include "symbols/debug_file.h"
#include "symbols/elf_file.h"
#include "python/python_target.h"

/* Functions the seed files have (tests/progs/leaky and friends, libpython
 * shaped files); any name works, these just find code with DWARF sooner. */
static const char *const names[] = {
	"main", "malloc", "leak_via_malloc", "_start", "PyType_GenericAlloc", "_PyRuntime",
};

/* Addresses worth a DWARF lookup: a symbol's first bytes and a little in. */
static void query_address(struct lt_elf_file *ef, uint64_t vaddr)
{
	struct lt_inline_frame chain[8];
	const struct lt_elf_symbol *sym;
	const char *file, *outer_file;
	uint64_t offset, back;
	uint8_t code[16];
	size_t got;
	int line, outer_line, n;

	sym = lt_elf_symbol_at(ef, vaddr);
	if (sym)
		fuzz_touch(sym->name);
	if (!lt_elf_vaddr_to_offset(ef, vaddr, &offset))
		lt_elf_offset_to_vaddr(ef, offset, &back);
	lt_elf_read_code(ef, vaddr, code, sizeof(code), &got);
	if (!lt_elf_source_line(ef, vaddr, &file, &line))
		fuzz_touch(file);
	n = lt_elf_inline_chain(ef, vaddr, chain, 8, &outer_file, &outer_line);
	for (int i = 0; i < n; i++) {
		fuzz_touch(chain[i].name);
		fuzz_touch(chain[i].file);
	}
}

static void query(struct lt_elf_file *ef, size_t file_size)
{
	struct lt_elf_symbol sym;
	char link[256];
	const void *data;
	size_t size;
	uint32_t crc;
	uint64_t vaddr;

	fuzz_touch(lt_elf_build_id(ef));
	lt_elf_is_dyn(ef);
	lt_elf_memory_estimate(ef);
	lt_elf_has_debug_info(ef);
	lt_elf_debuglink(ef, link, sizeof(link), &crc);
	if (!lt_elf_section_data(ef, ".eh_frame", &data, &size))
		fuzz_touch_bytes(data, size);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!lt_elf_find_function(ef, names[i], &sym)) {
			fuzz_touch(sym.name);
			query_address(ef, sym.vaddr);
			query_address(ef, sym.vaddr + 4);
		}
		if (!lt_elf_find_symbol(ef, names[i], &sym))
			fuzz_touch(sym.name);
	}
	/* Places spread over the file, as the addresses a stack may hold. */
	for (size_t i = 0; i < 8 && file_size; i++)
		if (!lt_elf_offset_to_vaddr(ef, file_size / 8 * i, &vaddr))
			query_address(ef, vaddr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char build_id[LT_ELF_BUILD_ID_LEN], path[64];
	struct lt_elf_file *ef, *debug;
	struct lt_elf_symbol sym;
	struct lt_py_interp interp;
	char err[256];
	int fd = fuzz_memfd(data, size), keep;

	if (fd < 0)
		return 0;
	lt_elf_read_build_id(fd, build_id);
	keep = dup(fd);
	if (lt_elf_open_fd(fd, &ef)) {
		close(keep);
		return 0;
	}
	query(ef, size);
	/* pid 0: the host's debug directories only; no path: no debuglink
	 * search, so only a build-id match or .gnu_debugdata can give one. */
	debug = lt_debug_file_find(0, NULL, ef);
	if (debug) {
		query(debug, 0);
		lt_elf_close(debug);
	}
	if (keep >= 0 && !lt_elf_find_function(ef, "PyType_GenericAlloc", &sym)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", keep);
		lt_py_find_interp_file(path, &interp, err, sizeof(err));
	}
	lt_elf_close(ef);
	if (keep >= 0)
		close(keep);
	return 0;
}
