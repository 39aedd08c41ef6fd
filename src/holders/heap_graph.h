/* SPDX-License-Identifier: MIT */
/*
 * A heap as a graph: the objects met (by address), which of them hold
 * which, and which are roots (where a chain of holders ends: a module's
 * globals, a class's attributes, a running frame's locals). Built forward
 * by a walk; searched backwards, breadth first, from a leaked object to
 * the nearest root, which gives the shortest chain of holders.
 */
#ifndef LT_HEAP_GRAPH_H
#define LT_HEAP_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LT_HEAP_NONE UINT32_MAX

enum lt_heap_root {
	LT_HEAP_ROOT_NONE = 0,
	LT_HEAP_ROOT_MODULE, /* a module's __dict__ (owner: the module) */
	LT_HEAP_ROOT_CLASS,  /* a class's __dict__ (owner: the class) */
	LT_HEAP_ROOT_FRAME,  /* a running frame's locals (owner: index of the frame) */
};

struct lt_heap_node {
	uint64_t addr;
	uint64_t type;        /* 0: not read (yet, or unreadable) */
	uint32_t first, n;    /* its decoded references: edges[first .. first + n) */
	uint32_t ofirst, on;  /* words that may be references, of an object not decoded */
	uint32_t owner;       /* see enum lt_heap_root */
	uint8_t root;         /* enum lt_heap_root */
	uint8_t decoded;
};

struct lt_heap_graph {
	struct lt_heap_node *nodes;
	size_t n, cap;
	uint32_t *index;      /* open addressing by address: node + 1, 0 empty */
	size_t index_cap;
	uint32_t *edges;      /* decoded references, by holder */
	size_t nedges, edges_cap;
	uint32_t *oedges;     /* conservative references, by holder */
	size_t noedges, oedges_cap;
	/* Built by lt_heap_graph_seal: who holds each node. */
	uint32_t *rfirst;     /* n + 1: holders of node i are rev[rfirst[i] .. rfirst[i + 1]) */
	uint32_t *rev;
	uint32_t *ofirst_rev, *orev; /* the same over conservative references */
	/* Search scratch. */
	uint32_t *parent, *stamp, *queue;
	uint32_t search;
};

void lt_heap_graph_free(struct lt_heap_graph *g);
/* The node of addr, or LT_HEAP_NONE. */
uint32_t lt_heap_graph_find(const struct lt_heap_graph *g, uint64_t addr);
/* The node of addr, made if new (*made set then). LT_HEAP_NONE when out of
 * memory or past 2^32 - 2 nodes. */
uint32_t lt_heap_graph_add(struct lt_heap_graph *g, uint64_t addr, bool *made);
/* Appends a reference of the node whose references are being added (they
 * must be added node by node: first lt_heap_graph_begin). */
void lt_heap_graph_begin(struct lt_heap_graph *g, uint32_t holder, bool conservative);
int lt_heap_graph_edge(struct lt_heap_graph *g, uint32_t holder, uint32_t to, bool conservative);
/* Indexes holders; no edge may be added after. Returns 0 or -ENOMEM. */
int lt_heap_graph_seal(struct lt_heap_graph *g);

/* How many holders of node are known (conservative: counting those too). */
uint32_t lt_heap_graph_holders(const struct lt_heap_graph *g, uint32_t node, bool conservative);

/*
 * The shortest chain from node up to a root: path[0] = node, path[n-1] the
 * root, each held by the next. conservative: through conservative
 * references too. max_visit bounds the nodes looked at. Returns the
 * number of nodes on the path (0 when no root is reached: then *nearest
 * is the first node met, in search order, for which accept returns true,
 * or LT_HEAP_NONE). path holds at most max_path nodes; a longer chain is
 * not returned.
 */
size_t lt_heap_graph_chain(struct lt_heap_graph *g, uint32_t node, bool conservative,
			   size_t max_visit, bool (*accept)(void *arg, uint32_t node), void *arg,
			   uint32_t *path, size_t max_path, uint32_t *nearest);

/* The path from the last search's start to node, which that search met:
 * path[0] = the start, path[n-1] = node. Returns n, or 0 when node was not
 * met or the path is longer than max_path. */
size_t lt_heap_graph_path_to(const struct lt_heap_graph *g, uint32_t node, uint32_t *path,
			     size_t max_path);

#endif
