/* SPDX-License-Identifier: MIT */
/*
 * One opened ELF file: its loadable segments, function symbols (.symtab and
 * .dynsym), build-id and, lazily, DWARF line information.
 */
#ifndef LT_ELF_FILE_H
#define LT_ELF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lt_elf_file;

struct lt_elf_symbol {
	uint64_t vaddr;
	uint64_t size;
	const char *name; /* owned by the lt_elf_file, mangled as in the file */
};

/* Open from a file descriptor; the lt_elf_file takes ownership of fd (also on error).
 * Returns 0 or -errno (-ENOEXEC for a file that is not a valid ELF). */
int lt_elf_open_fd(int fd, struct lt_elf_file **out);
int lt_elf_open_path(const char *path, struct lt_elf_file **out);
void lt_elf_close(struct lt_elf_file *ef);

bool lt_elf_is_dyn(const struct lt_elf_file *ef); /* ET_DYN (PIE or shared library) */
/* Build-id as lowercase hex, "" if none. */
const char *lt_elf_build_id(const struct lt_elf_file *ef);
/* Room for any build-id lt_elf_build_id() returns, with its NUL. */
#define LT_ELF_BUILD_ID_LEN 129
/* Just the build-id of the ELF file open at fd (not taken over), without
 * reading its symbols: out is "" when it has none. Returns 0 or -errno
 * (-ENOEXEC for a file that is not a valid ELF). */
int lt_elf_read_build_id(int fd, char out[LT_ELF_BUILD_ID_LEN]);
/* A new descriptor (close-on-exec) of the file ef reads, or -errno. */
int lt_elf_dup_fd(const struct lt_elf_file *ef);
/* Bytes ef holds or will hold once its DWARF is read; an estimate (see
 * elf_file.c), for keeping caches of parsed files within a budget. */
uint64_t lt_elf_memory_estimate(const struct lt_elf_file *ef);

/* A defined function symbol by exact name (version suffixes like @@GLIBC_2.2.5 ignored). */
int lt_elf_find_function(const struct lt_elf_file *ef, const char *name, struct lt_elf_symbol *out);
/* Any defined symbol (object, function, ...) by exact name, version suffix
 * ignored: .dynsym first, then .symtab. Unlike lt_elf_find_function it scans
 * the tables (no index), so it suits a few lookups per file; out->name is
 * owned by ef. Returns 0 or -ENOENT. */
int lt_elf_find_symbol(const struct lt_elf_file *ef, const char *name, struct lt_elf_symbol *out);
/* The function symbol whose [vaddr, vaddr+size) contains vaddr; symbols of size 0
 * match up to the next symbol. Returns NULL when none. */
const struct lt_elf_symbol *lt_elf_symbol_at(const struct lt_elf_file *ef, uint64_t vaddr);
size_t lt_elf_symbol_count(const struct lt_elf_file *ef);

/* Translate between file offsets and virtual addresses through PT_LOAD segments. */
int lt_elf_vaddr_to_offset(const struct lt_elf_file *ef, uint64_t vaddr, uint64_t *offset);
int lt_elf_offset_to_vaddr(const struct lt_elf_file *ef, uint64_t offset, uint64_t *vaddr);

/* Read up to len bytes of the file's image at vaddr (within one PT_LOAD
 * segment's file contents, so code, .rodata and initialised .data alike);
 * *got says how many. Returns 0 or -errno. */
int lt_elf_read_code(const struct lt_elf_file *ef, uint64_t vaddr, void *buf, size_t len,
		     size_t *got);

/* The pointer a loaded image holds at vaddr before it runs: the file's
 * bytes in an executable, in a shared object the value its relocation
 * gives (relative, or a symbol the file defines). Returns 0 or -ENOENT. */
int lt_elf_read_pointer(const struct lt_elf_file *ef, uint64_t vaddr, uint64_t *value);

/* A shared object's TLS access through the GOT pair at vaddr (module id,
 * then offset, as __tls_get_addr takes them): *block_off is the offset in
 * the module's TLS block. Returns 0, or -ENOENT when vaddr is no such pair. */
int lt_elf_tls_slot(const struct lt_elf_file *ef, uint64_t vaddr, uint64_t *block_off);

struct lt_inline_frame {
	const char *name; /* linkage (mangled) or plain name; NULL if unknown */
	const char *file; /* owned by the lt_elf_file */
	int line;
};

/* Functions inlined at vaddr, innermost first, at most max: out[0] is at
 * vaddr's line, out[i] at the call site inside out[i-1]'s caller. Returns how
 * many; then outer_file and outer_line say where the enclosing (real) function
 * is, i.e. the call site of the outermost inlined call. 0 when none. */
int lt_elf_inline_chain(struct lt_elf_file *ef, uint64_t vaddr, struct lt_inline_frame *out,
			int max, const char **outer_file, int *outer_line);

/* Contents of the section called name (owned by ef). Returns 0 or -ENOENT. */
int lt_elf_section_data(const struct lt_elf_file *ef, const char *name, const void **data,
			size_t *size);

/* Has DWARF of its own (a .debug_info section with contents). */
bool lt_elf_has_debug_info(const struct lt_elf_file *ef);
/* The .gnu_debuglink file name (a plain name, no '/') and its CRC32.
 * Returns 0 or -ENOENT. */
int lt_elf_debuglink(const struct lt_elf_file *ef, char *name, size_t len, uint32_t *crc);

/* Source file and line for vaddr from DWARF (.debug_line), loaded on first use.
 * Returns 0 and sets *file (owned by ef) and *line, or -ENOENT. */
int lt_elf_source_line(struct lt_elf_file *ef, uint64_t vaddr, const char **file, int *line);

#endif
