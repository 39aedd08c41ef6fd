/* SPDX-License-Identifier: MIT */
/*
 * The files a dynamically linked program will map before main: its
 * interpreter and the DT_NEEDED closure, found roughly as ld.so finds them
 * (DT_RPATH/DT_RUNPATH with $ORIGIN, LD_LIBRARY_PATH, ld.so.conf, the
 * default directories). Used to prepare unwind tables before a -c command
 * runs; a library missed here is still picked up later from its mappings.
 */
#ifndef LT_NEEDED_LIBS_H
#define LT_NEEDED_LIBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lt_path_list {
	char **v;
	size_t n;
};

/* exe itself first, then what it needs. Returns 0 or -errno (-ENOMEM). */
int lt_needed_libs(const char *exe, struct lt_path_list *out);
/* Is path a dynamic loader (ld-linux*, ld-musl*, ld.so), which, run as a
 * command, loads the program named by its first operand? */
bool lt_is_dynamic_loader(const char *path);
/*
 * The files a command maps before its main: path is the program found,
 * argv the command's words. Run as "ld.so [OPTIONS] PROGRAM ...", that is
 * PROGRAM first, its closure searched with --library-path in place of
 * LD_LIBRARY_PATH, and ld.so itself; otherwise lt_needed_libs(path).
 * Returns 0 or -errno.
 */
int lt_command_files(const char *path, char *const *argv, struct lt_path_list *out);
void lt_path_list_free(struct lt_path_list *l);

/* A library called name in the system's library directories that is the
 * file (dev major:minor, inode); its path in out. Returns 0 or -ENOENT. */
int lt_find_library(const char *name, uint32_t dev_major, uint32_t dev_minor, uint64_t inode,
		    char *out, size_t len);

#endif
