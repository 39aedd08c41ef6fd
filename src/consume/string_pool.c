// SPDX-License-Identifier: MIT
#include "consume/string_pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct lt_pooled {
	struct lt_pooled *next;
	char text[]; /* NUL-terminated */
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

int lt_string_pool_init(struct lt_string_pool *p, uint64_t budget)
{
	p->buckets = calloc(LT_STRING_POOL_BUCKETS, sizeof(*p->buckets));
	p->bytes = 0;
	p->budget = budget;
	return p->buckets ? 0 : -ENOMEM;
}

void lt_string_pool_free(struct lt_string_pool *p)
{
	struct lt_pooled *e, *next;
	size_t i;

	if (!p->buckets)
		return;
	for (i = 0; i < LT_STRING_POOL_BUCKETS; i++)
		for (e = p->buckets[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	free(p->buckets);
	p->buckets = NULL;
	p->bytes = 0;
}

const char *lt_string_pool_intern(struct lt_string_pool *p, const char *s)
{
	size_t b = hash_str(s) % LT_STRING_POOL_BUCKETS, len = strlen(s);
	struct lt_pooled *e;

	for (e = p->buckets[b]; e; e = e->next)
		if (!strcmp(e->text, s))
			return e->text;
	if (p->budget && p->bytes + len + sizeof(*e) > p->budget)
		return NULL;
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->text, s, len + 1);
	e->next = p->buckets[b];
	p->buckets[b] = e;
	p->bytes += len + sizeof(*e);
	return e->text;
}
