/* SPDX-License-Identifier: MIT */
/* Turning a new stack's raw addresses into (module, ELF address) while its process lives. */
#ifndef LT_FRAME_RESOLVER_H
#define LT_FRAME_RESOLVER_H

#include "symbols/module_cache.h"
#include "consume/process_table.h"
#include "consume/stack_store.h"

/* Replace p's mappings with /proc/PID/maps when the process still has any,
 * and open the files of its executable mappings while they can be read. */
void lt_reload_maps(struct lt_process *p, struct lt_module_cache *modules);
/* Returns 0 or -ENOMEM. Frames outside any known mapping get a NULL module
 * and are tried again on the next call (the stack stays unresolved). */
int lt_resolve_stack(struct lt_process *p, struct lt_stack *st, struct lt_module_cache *modules);
/* The same from what p's mappings already know of their modules alone:
 * no /proc read, no module cache, nothing but p and st is touched, so a
 * lane may do it without the session's lock. False when a frame needs
 * more (then lt_resolve_stack() finishes st). */
bool lt_resolve_stack_known(struct lt_process *p, struct lt_stack *st);
/* The kernel's list of code mappings of an exiting process: added where
 * they are missing (the process may have been gone before /proc was read),
 * then the stacks still unresolved are resolved. Returns 0 or -ENOMEM. */
int lt_apply_exit_maps(struct lt_process *p, struct lt_maps *snapshot,
		       struct lt_module_cache *modules);

#endif
