/* SPDX-License-Identifier: MIT */
/* One live block as the live table's callers see it, whatever its storage. */
#ifndef LT_LIVE_ALLOC_H
#define LT_LIVE_ALLOC_H

#include <stdint.h>

struct lt_live_alloc {
	uint64_t addr; /* never 0: malloc never returns NULL as a block */
	uint64_t size_bytes;
	uint64_t ts_ns;
	uint32_t stack_id;
	/* The owner's tag: a Python object's type, or a traceback id + 1. */
	uint32_t pad;
};

#endif
