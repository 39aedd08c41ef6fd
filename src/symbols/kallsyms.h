/* SPDX-License-Identifier: MIT */
/*
 * Kernel symbols from /proc/kallsyms (root sees the real addresses): the
 * function an address is in, and its module ("vmlinux" for the kernel's
 * own code), as kernel stacks are shown.
 */
#ifndef LT_KALLSYMS_H
#define LT_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

#include "symbols/symbolized_frame.h"

struct lt_kallsyms;

/* Read path (normally /proc/kallsyms). Returns 0 or -errno: -EPERM when
 * every address reads 0 (kptr_restrict, no CAP_SYSLOG). */
int lt_kallsyms_load(const char *path, struct lt_kallsyms **out);
void lt_kallsyms_free(struct lt_kallsyms *k);
/* The symbol containing addr, into f (func strdup'd, module one of k's
 * strings, which live as long as k). f->func stays NULL outside every
 * symbol. Returns 0 or -ENOMEM. */
int lt_kallsyms_frame(const struct lt_kallsyms *k, uint64_t addr, struct lt_report_frame *f);
/* Where the function name is: [*lo, *hi), up to the next symbol. Returns
 * 0 or -ENOENT. */
int lt_kallsyms_range(const struct lt_kallsyms *k, const char *name, uint64_t *lo, uint64_t *hi);
size_t lt_kallsyms_count(const struct lt_kallsyms *k);

#endif
