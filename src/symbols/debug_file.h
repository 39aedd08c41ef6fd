/* SPDX-License-Identifier: MIT */
/*
 * Separate debug files, as Debian's -dbg/-dbgsym packages install them:
 * /usr/lib/debug/.build-id/xx/rest.debug by build-id, or the .gnu_debuglink
 * name (checked against its CRC32) next to the file, in its .debug/ folder
 * or under /usr/lib/debug. Looked up in the traced process's own root
 * first, then on the host. Failing those, MiniDebugInfo: the xz-compressed
 * ELF in the file's own .gnu_debugdata section, whose .symtab names the
 * functions .dynsym lacks (no DWARF).
 */
#ifndef LT_DEBUG_FILE_H
#define LT_DEBUG_FILE_H

#include <sys/types.h>

struct lt_elf_file;

/* The debug companion of ef (mapped by pid as path), or NULL. */
struct lt_elf_file *lt_debug_file_find(pid_t pid, const char *path, const struct lt_elf_file *ef);

#endif
