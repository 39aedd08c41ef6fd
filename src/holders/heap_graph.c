// SPDX-License-Identifier: MIT
#include "holders/heap_graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow_array.h"

#define MAX_NODES (UINT32_MAX - 2)

void lt_heap_graph_free(struct lt_heap_graph *g)
{
	free(g->nodes);
	free(g->index);
	free(g->edges);
	free(g->oedges);
	free(g->rfirst);
	free(g->rev);
	free(g->ofirst_rev);
	free(g->orev);
	free(g->parent);
	free(g->stamp);
	free(g->queue);
	memset(g, 0, sizeof(*g));
}

static size_t slot_of(uint64_t addr, size_t cap)
{
	return (size_t)((addr >> 3) * 0x9e3779b97f4a7c15ULL >> 13) & (cap - 1);
}

uint32_t lt_heap_graph_find(const struct lt_heap_graph *g, uint64_t addr)
{
	if (!g->index_cap)
		return LT_HEAP_NONE;
	for (size_t i = slot_of(addr, g->index_cap);; i = (i + 1) & (g->index_cap - 1)) {
		uint32_t v = g->index[i];

		if (!v)
			return LT_HEAP_NONE;
		if (g->nodes[v - 1].addr == addr)
			return v - 1;
	}
}

static int grow_index(struct lt_heap_graph *g)
{
	size_t cap = g->index_cap ? g->index_cap * 2 : 1u << 16;
	uint32_t *index = calloc(cap, sizeof(*index));

	if (!index)
		return -ENOMEM;
	for (size_t n = 0; n < g->n; n++) {
		size_t i = slot_of(g->nodes[n].addr, cap);

		while (index[i])
			i = (i + 1) & (cap - 1);
		index[i] = (uint32_t)n + 1;
	}
	free(g->index);
	g->index = index;
	g->index_cap = cap;
	return 0;
}

uint32_t lt_heap_graph_add(struct lt_heap_graph *g, uint64_t addr, bool *made)
{
	uint32_t found = lt_heap_graph_find(g, addr);
	struct lt_heap_node *nodes;
	size_t i;

	*made = false;
	if (found != LT_HEAP_NONE)
		return found;
	if (g->n >= MAX_NODES)
		return LT_HEAP_NONE;
	if ((g->n + 1) * 2 > g->index_cap && grow_index(g))
		return LT_HEAP_NONE;
	nodes = lt_grow(g->nodes, &g->cap, g->n + 1, sizeof(*g->nodes));
	if (!nodes)
		return LT_HEAP_NONE;
	g->nodes = nodes;
	g->nodes[g->n] = (struct lt_heap_node){ .addr = addr, .owner = LT_HEAP_NONE };
	for (i = slot_of(addr, g->index_cap); g->index[i]; i = (i + 1) & (g->index_cap - 1))
		;
	g->index[i] = (uint32_t)g->n + 1;
	*made = true;
	return (uint32_t)g->n++;
}

void lt_heap_graph_begin(struct lt_heap_graph *g, uint32_t holder, bool conservative)
{
	struct lt_heap_node *h = &g->nodes[holder];

	if (conservative) {
		h->ofirst = (uint32_t)g->noedges;
		h->on = 0;
	} else {
		h->first = (uint32_t)g->nedges;
		h->n = 0;
	}
}

int lt_heap_graph_edge(struct lt_heap_graph *g, uint32_t holder, uint32_t to, bool conservative)
{
	uint32_t **v = conservative ? &g->oedges : &g->edges;
	size_t *n = conservative ? &g->noedges : &g->nedges;
	size_t *cap = conservative ? &g->oedges_cap : &g->edges_cap;
	uint32_t *grown;

	if (*n >= UINT32_MAX)
		return -E2BIG;
	grown = lt_grow(*v, cap, *n + 1, sizeof(**v));
	if (!grown)
		return -ENOMEM;
	*v = grown;
	(*v)[(*n)++] = to;
	if (conservative)
		g->nodes[holder].on++;
	else
		g->nodes[holder].n++;
	return 0;
}

/* rfirst/rev from the edges: a counting sort of the edges by target. */
static int reverse(struct lt_heap_graph *g, bool conservative, uint32_t **firstp, uint32_t **revp)
{
	const uint32_t *edges = conservative ? g->oedges : g->edges;
	size_t nedges = conservative ? g->noedges : g->nedges;
	uint32_t *first = calloc(g->n + 1, sizeof(*first));
	uint32_t *rev = malloc((nedges ? nedges : 1) * sizeof(*rev));

	if (!first || !rev) {
		free(first);
		free(rev);
		return -ENOMEM;
	}
	for (size_t e = 0; e < nedges; e++)
		first[edges[e] + 1]++;
	for (size_t i = 0; i < g->n; i++)
		first[i + 1] += first[i];
	for (size_t h = 0; h < g->n; h++) {
		const struct lt_heap_node *nd = &g->nodes[h];
		uint32_t from = conservative ? nd->ofirst : nd->first, k = conservative ? nd->on : nd->n;

		/* first[t] is used as the fill cursor, then restored below. */
		for (uint32_t e = from; e < from + k; e++)
			rev[first[edges[e]]++] = (uint32_t)h;
	}
	for (size_t i = g->n; i > 0; i--)
		first[i] = first[i - 1];
	first[0] = 0;
	*firstp = first;
	*revp = rev;
	return 0;
}

int lt_heap_graph_seal(struct lt_heap_graph *g)
{
	int err;

	if ((err = reverse(g, false, &g->rfirst, &g->rev)) ||
	    (err = reverse(g, true, &g->ofirst_rev, &g->orev)))
		return err;
	g->parent = malloc((g->n ? g->n : 1) * sizeof(*g->parent));
	g->stamp = calloc(g->n ? g->n : 1, sizeof(*g->stamp));
	g->queue = malloc((g->n ? g->n : 1) * sizeof(*g->queue));
	if (!g->parent || !g->stamp || !g->queue)
		return -ENOMEM;
	return 0;
}

uint32_t lt_heap_graph_holders(const struct lt_heap_graph *g, uint32_t node, bool conservative)
{
	uint32_t n = g->rfirst[node + 1] - g->rfirst[node];

	if (conservative)
		n += g->ofirst_rev[node + 1] - g->ofirst_rev[node];
	return n;
}

size_t lt_heap_graph_chain(struct lt_heap_graph *g, uint32_t node, bool conservative,
			   size_t max_visit, bool (*accept)(void *arg, uint32_t node), void *arg,
			   uint32_t *path, size_t max_path, uint32_t *nearest)
{
	size_t head = 0, tail = 0;
	uint32_t found = LT_HEAP_NONE;

	*nearest = LT_HEAP_NONE;
	if (node >= g->n)
		return 0;
	g->search++;
	g->stamp[node] = g->search;
	g->parent[node] = LT_HEAP_NONE;
	g->queue[tail++] = node;
	while (head < tail && found == LT_HEAP_NONE) {
		uint32_t at = g->queue[head++];

		if (g->nodes[at].root) {
			found = at;
			break;
		}
		if (*nearest == LT_HEAP_NONE && accept && accept(arg, at))
			*nearest = at;
		for (int pass = 0; pass < (conservative ? 2 : 1); pass++) {
			const uint32_t *first = pass ? g->ofirst_rev : g->rfirst;
			const uint32_t *rev = pass ? g->orev : g->rev;

			for (uint32_t r = first[at]; r < first[at + 1]; r++) {
				uint32_t h = rev[r];

				if (g->stamp[h] == g->search || tail >= max_visit)
					continue;
				g->stamp[h] = g->search;
				g->parent[h] = at;
				g->queue[tail++] = h;
			}
		}
	}
	if (found == LT_HEAP_NONE)
		return 0;
	return lt_heap_graph_path_to(g, found, path, max_path);
}

size_t lt_heap_graph_path_to(const struct lt_heap_graph *g, uint32_t node, uint32_t *path,
			     size_t max_path)
{
	size_t len = 0, i;

	if (node >= g->n || g->stamp[node] != g->search)
		return 0;
	/* parent[] points toward the start: walk it from node back. */
	for (uint32_t at = node; at != LT_HEAP_NONE; at = g->parent[at])
		if (++len > max_path)
			return 0;
	i = len;
	for (uint32_t at = node; at != LT_HEAP_NONE; at = g->parent[at])
		path[--i] = at;
	return len;
}
