/* SPDX-License-Identifier: MIT */
/*
 * The words of a chain: how each holder holds the next object and what the
 * root is (module and global, class and attribute, frame and local), each
 * with where in the process it was read, so that the chain can be checked
 * against the process later with a few reads.
 */
#ifndef LT_HOLDER_LABELS_H
#define LT_HOLDER_LABELS_H

#include <stdbool.h>
#include <stdint.h>

#include "holders/holders.h"
#include "holders/py_heap_walk.h"

/* How holder holds child, decoded through h's reader. Returns 0, -ENOENT
 * when it does not, -ENOMEM or a read error. */
int lt_holder_link_of(struct lt_py_heap *h, uint64_t holder, uint64_t child, bool conservative,
		      struct lt_holder_link *out);
/* The root node (of w's graph) that holds child, named. Returns 0,
 * -ENOENT when it does not hold it, -ENOMEM or a read error. */
int lt_holder_root_of(struct lt_py_walk *w, uint32_t root, uint64_t child,
		      struct lt_holder_root *out);
/* A root for a chain that reached no root: node is held from somewhere not
 * read (refcount references, found of them found). */
int lt_holder_root_unfollowed(struct lt_py_heap *h, uint64_t node, uint64_t refcount,
			      uint64_t found, struct lt_holder_root *out);
/* A str object's text (malloc'd), NULL if it is not one. */
char *lt_holder_str(struct lt_py_heap *h, uint64_t obj);
/* obj's reference count, 0 if unreadable; immortal objects (3.12+) give
 * UINT64_MAX. */
uint64_t lt_holder_refcount(struct lt_py_heap *h, uint64_t obj);

void lt_holder_link_free(struct lt_holder_link *l);
void lt_holder_root_free(struct lt_holder_root *r);

#endif
