/* SPDX-License-Identifier: MIT */
/*
 * Interned strings: one copy of each distinct string, alive until the pool
 * is freed, so caches in front of it can be flushed without invalidating
 * names already handed out.
 */
#ifndef LT_STRING_POOL_H
#define LT_STRING_POOL_H

#include <stddef.h>
#include <stdint.h>

struct lt_pooled;

#define LT_STRING_POOL_BUCKETS 4096

struct lt_string_pool {
	struct lt_pooled **buckets; /* LT_STRING_POOL_BUCKETS chains */
	uint64_t bytes;             /* held, for the budget */
	uint64_t budget;            /* 0: none */
};

/* budget: bytes of strings held at most (0 = unlimited). Returns 0 or -ENOMEM. */
int lt_string_pool_init(struct lt_string_pool *p, uint64_t budget);
void lt_string_pool_free(struct lt_string_pool *p);
/* The pool's copy of s; NULL on allocation failure or once over budget. */
const char *lt_string_pool_intern(struct lt_string_pool *p, const char *s);

#endif
