/* SPDX-License-Identifier: MIT */
/*
 * Arrays that grow by doubling, for every stage: one place that gets the
 * size arithmetic right (a doubled capacity, or capacity times element
 * size, can wrap around on a 64-bit size_t too, when the count comes from
 * a file or a traced process).
 */
#ifndef LT_GROW_ARRAY_H
#define LT_GROW_ARRAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The first allocation: small, since doubling catches up within a few steps. */
#define LT_GROW_MIN 8

/*
 * The capacity to move to for room for need elements of elem_size bytes
 * (elem_size > 0), from cap: cap doubled (from LT_GROW_MIN) until need fits,
 * stopping short of where capacity times elem_size wraps around. 0 when need
 * elements themselves do not fit in size_t.
 */
static inline size_t lt_grow_cap(size_t cap, size_t need, size_t elem_size)
{
	size_t max = SIZE_MAX / elem_size, ncap;

	if (need > max)
		return 0;
	ncap = cap > LT_GROW_MIN ? cap : LT_GROW_MIN;
	while (ncap < need)
		ncap = ncap <= max / 2 ? 2 * ncap : max;
	/* Elements so big that LT_GROW_MIN of them (or a cap from elsewhere) wrap. */
	return ncap < max ? ncap : max;
}

/*
 * v, with room for at least need elements of elem_size bytes (elem_size > 0);
 * *cap is how many v has room for (0 with v NULL: empty). Returns v itself when
 * it is big enough, else the array moved by realloc to lt_grow_cap elements,
 * with *cap updated; new elements are not initialized. NULL when the size does
 * not fit in size_t or realloc fails: v and *cap are then untouched, v still
 * the caller's.
 *
 * The array goes in and comes out as a value, like realloc, rather than as a
 * void ** to the caller's T * field: storing a T * through a void ** breaks
 * strict aliasing. NULL only ever means failure: an empty array is allocated
 * even for need 0.
 */
static inline void *lt_grow(void *v, size_t *cap, size_t need, size_t elem_size)
{
	size_t ncap;
	void *grown;

	if (v && need <= *cap)
		return v;
	ncap = lt_grow_cap(*cap, need, elem_size);
	if (!ncap)
		return NULL;
	grown = realloc(v, ncap * elem_size);
	if (!grown)
		return NULL;
	*cap = ncap;
	return grown;
}

#endif
