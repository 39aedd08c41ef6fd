// SPDX-License-Identifier: MIT
/*
 * The heap graph without a process: nodes by address (past the index's
 * first growth), edges by holder and their reverse index, and the search
 * backwards from an object to the nearest root: the shortest chain when
 * roots lie at several depths, through cycles and diamonds, through
 * conservative references only when asked, the nearest accepted node when
 * no root is reached, and the bounds on nodes visited and path length.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "holders/heap_graph.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ADDR(i) (0x10000000ull + (uint64_t)(i) * 16)

/* A graph of n nodes, node i at ADDR(i). */
static void make_nodes(struct lt_heap_graph *g, uint32_t n)
{
	memset(g, 0, sizeof(*g));
	for (uint32_t i = 0; i < n; i++) {
		bool made = false;

		assert_int_equal(lt_heap_graph_add(g, ADDR(i), &made), i);
		assert_true(made);
	}
}

/* holder's references (all of them, in one go), -1 ended. */
static void holds(struct lt_heap_graph *g, uint32_t holder, bool conservative, const int *to)
{
	lt_heap_graph_begin(g, holder, conservative);
	for (; *to >= 0; to++)
		assert_int_equal(lt_heap_graph_edge(g, holder, (uint32_t)*to, conservative), 0);
}

#define HOLDS(g, h, ...) holds(g, h, false, (const int[]){ __VA_ARGS__, -1 })
#define OHOLDS(g, h, ...) holds(g, h, true, (const int[]){ __VA_ARGS__, -1 })

static void assert_path(const uint32_t *path, size_t n, const uint32_t *want, size_t nwant)
{
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++) {
		if (path[i] != want[i])
			print_error("path[%zu] = %u, want %u\n", i, path[i], want[i]);
		assert_int_equal(path[i], want[i]);
	}
}

#define ASSERT_PATH(path, n, ...)                                                       \
	do {                                                                             \
		static const uint32_t want_[] = { __VA_ARGS__ };                         \
		assert_path(path, n, want_, N(want_));                                   \
	} while (0)

static size_t chain(struct lt_heap_graph *g, uint32_t node, bool conservative, uint32_t *path,
		    uint32_t *nearest)
{
	return lt_heap_graph_chain(g, node, conservative, SIZE_MAX, NULL, NULL, path, 64, nearest);
}

/* 100000 nodes: the index (65536 slots at first) grows twice and every
 * node is still found by its address, and only by it. */
static void test_add_find_many(void **state)
{
	struct lt_heap_graph g;
	const uint32_t n = 100000;
	bool made = true;

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_int_equal(lt_heap_graph_find(&g, ADDR(0)), LT_HEAP_NONE);
	make_nodes(&g, n);
	assert_int_equal(g.n, n);
	assert_true(g.index_cap >= 2 * (size_t)n);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(lt_heap_graph_find(&g, ADDR(i)), i);
		assert_int_equal(g.nodes[i].addr, ADDR(i));
		assert_int_equal(g.nodes[i].owner, LT_HEAP_NONE);
		assert_int_equal(g.nodes[i].root, LT_HEAP_ROOT_NONE);
	}
	/* Added again: the same node, not made. */
	for (uint32_t i = 0; i < n; i += 997) {
		assert_int_equal(lt_heap_graph_add(&g, ADDR(i), &made), i);
		assert_false(made);
	}
	assert_int_equal(g.n, n);
	/* Addresses between and past the nodes are none of them. */
	assert_int_equal(lt_heap_graph_find(&g, ADDR(0) + 8), LT_HEAP_NONE);
	assert_int_equal(lt_heap_graph_find(&g, ADDR(n)), LT_HEAP_NONE);
	assert_int_equal(lt_heap_graph_find(&g, 0), LT_HEAP_NONE);
	/* Addresses that differ only in high bits. */
	assert_int_equal(lt_heap_graph_add(&g, ADDR(5) | (1ull << 47), &made), n);
	assert_true(made);
	assert_int_equal(lt_heap_graph_find(&g, ADDR(5)), 5);
	assert_int_equal(lt_heap_graph_find(&g, ADDR(5) | (1ull << 47)), n);
	lt_heap_graph_free(&g);
	assert_null(g.nodes);
	assert_int_equal(g.n, 0);
}

/* Each holder's references are its own range; seal counts who holds what. */
static void test_edges_and_holders(void **state)
{
	struct lt_heap_graph g;

	(void)state;
	make_nodes(&g, 6);
	HOLDS(&g, 0, 1, 2);
	HOLDS(&g, 3, 1);
	HOLDS(&g, 4, 4); /* holds itself */
	OHOLDS(&g, 5, 1, 2);
	HOLDS(&g, 2, 1, 1); /* twice */
	assert_int_equal(g.nodes[0].n, 2);
	assert_int_equal(g.nodes[3].n, 1);
	assert_int_equal(g.nodes[5].n, 0);
	assert_int_equal(g.nodes[5].on, 2);
	assert_int_equal(g.nodes[2].first, 4);
	assert_int_equal(g.edges[g.nodes[0].first], 1);
	assert_int_equal(g.edges[g.nodes[0].first + 1], 2);
	assert_int_equal(g.edges[g.nodes[3].first], 1);
	assert_int_equal(g.nedges, 6);
	assert_int_equal(g.noedges, 2);
	assert_int_equal(lt_heap_graph_seal(&g), 0);
	/* 1: held by 0, 3 and twice by 2; conservatively by 5 too. */
	assert_int_equal(lt_heap_graph_holders(&g, 1, false), 4);
	assert_int_equal(lt_heap_graph_holders(&g, 1, true), 5);
	assert_int_equal(lt_heap_graph_holders(&g, 2, false), 1);
	assert_int_equal(lt_heap_graph_holders(&g, 2, true), 2);
	assert_int_equal(lt_heap_graph_holders(&g, 4, false), 1);
	assert_int_equal(lt_heap_graph_holders(&g, 0, true), 0);
	assert_int_equal(lt_heap_graph_holders(&g, 5, true), 0);
	/* The reverse index lists holders in node order. */
	assert_int_equal(g.rfirst[2] - g.rfirst[1], 4);
	assert_int_equal(g.rev[g.rfirst[1]], 0);
	assert_int_equal(g.rev[g.rfirst[1] + 1], 2);
	assert_int_equal(g.rev[g.rfirst[1] + 2], 2);
	assert_int_equal(g.rev[g.rfirst[1] + 3], 3);
	assert_int_equal(g.orev[g.ofirst_rev[1]], 5);
	lt_heap_graph_free(&g);
}

/* An empty graph seals, and a search of a node it does not have finds nothing. */
static void test_empty(void **state)
{
	struct lt_heap_graph g;
	uint32_t path[4], nearest = 7;

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_int_equal(lt_heap_graph_seal(&g), 0);
	assert_int_equal(chain(&g, 0, true, path, &nearest), 0);
	assert_int_equal(nearest, LT_HEAP_NONE);
	assert_int_equal(lt_heap_graph_path_to(&g, 0, path, 4), 0);
	lt_heap_graph_free(&g);
}

/*
 * Two roots: R1 four holders up by a chain met first (its holder has the
 * lower node number), R2 two up. Breadth first finds R2; the long chain
 * also loops (a2 <-> a3) and the short one holds the leak twice.
 *
 *   L <- a1 <- a2 <- a3 <- R1      (a3 <- a2 too)
 *   L <- b1 <- R2
 */
enum { L, A1, A2, A3, R1, B1, R2, NSHORT };

static void test_shortest_chain(void **state)
{
	struct lt_heap_graph g;
	uint32_t path[16], nearest;

	(void)state;
	make_nodes(&g, NSHORT);
	HOLDS(&g, A1, L);
	HOLDS(&g, A2, A1, A3);
	HOLDS(&g, A3, A2);
	HOLDS(&g, R1, A3);
	HOLDS(&g, B1, L, L);
	HOLDS(&g, R2, B1);
	g.nodes[R1].root = LT_HEAP_ROOT_MODULE;
	g.nodes[R2].root = LT_HEAP_ROOT_CLASS;
	assert_int_equal(lt_heap_graph_seal(&g), 0);
	ASSERT_PATH(path, chain(&g, L, false, path, &nearest), L, B1, R2);
	/* From further up the long chain, R1 is the nearer. */
	ASSERT_PATH(path, chain(&g, A2, false, path, &nearest), A2, A3, R1);
	ASSERT_PATH(path, chain(&g, A1, false, path, &nearest), A1, A2, A3, R1);
	/* A root is its own chain. */
	ASSERT_PATH(path, chain(&g, R2, false, path, &nearest), R2);
	/* Without R2, the long way round. */
	g.nodes[R2].root = LT_HEAP_ROOT_NONE;
	ASSERT_PATH(path, chain(&g, L, false, path, &nearest), L, A1, A2, A3, R1);
	/* A node past the graph. */
	assert_int_equal(chain(&g, NSHORT, false, path, &nearest), 0);
	assert_int_equal(nearest, LT_HEAP_NONE);
	lt_heap_graph_free(&g);

	/* The same with the short chain's holder numbered first: the order
	 * holders are met in does not decide, their depth does. */
	make_nodes(&g, 7);
	HOLDS(&g, 1, 0);    /* b1 */
	HOLDS(&g, 2, 1);    /* R2 */
	HOLDS(&g, 3, 0);    /* a1 */
	HOLDS(&g, 4, 3, 5); /* a2 */
	HOLDS(&g, 5, 4);    /* a3 */
	HOLDS(&g, 6, 5);    /* R1 */
	g.nodes[2].root = LT_HEAP_ROOT_MODULE;
	g.nodes[6].root = LT_HEAP_ROOT_MODULE;
	assert_int_equal(lt_heap_graph_seal(&g), 0);
	ASSERT_PATH(path, chain(&g, 0, false, path, &nearest), 0, 1, 2);
	lt_heap_graph_free(&g);
}

/*
 * A diamond: L held by x and y, both held by top, held by the root; and a
 * cycle above the diamond that leads nowhere (top <- c1 <- c2 <- c1).
 */
enum { DL, DX, DY, DTOP, DC1, DC2, DROOT, NDIAMOND };

static void test_diamond_and_cycle(void **state)
{
	struct lt_heap_graph g;
	uint32_t path[16], nearest;

	(void)state;
	make_nodes(&g, NDIAMOND);
	HOLDS(&g, DX, DL);
	HOLDS(&g, DY, DL);
	HOLDS(&g, DTOP, DX, DY);
	HOLDS(&g, DC1, DTOP, DC2);
	HOLDS(&g, DC2, DC1);
	HOLDS(&g, DROOT, DTOP);
	g.nodes[DROOT].root = LT_HEAP_ROOT_FRAME;
	assert_int_equal(lt_heap_graph_seal(&g), 0);
	/* Through x, the first holder of L. */
	ASSERT_PATH(path, chain(&g, DL, false, path, &nearest), DL, DX, DTOP, DROOT);
	ASSERT_PATH(path, chain(&g, DY, false, path, &nearest), DY, DTOP, DROOT);
	/* The cycle alone reaches no root: the search ends. */
	g.nodes[DROOT].root = LT_HEAP_ROOT_NONE;
	assert_int_equal(chain(&g, DL, false, path, &nearest), 0);
	assert_int_equal(nearest, LT_HEAP_NONE);
	lt_heap_graph_free(&g);
}

/* A chain through a conservative reference only when asked. */
enum { CL, CO, CR, CD, CR2, NCONS };

static void test_conservative(void **state)
{
	struct lt_heap_graph g;
	uint32_t path[16], nearest;

	(void)state;
	make_nodes(&g, NCONS);
	OHOLDS(&g, CO, CL);
	HOLDS(&g, CR, CO);
	HOLDS(&g, CD, CL); /* decoded, but held by nothing */
	OHOLDS(&g, CR2, CD); /* a root that holds it only conservatively */
	g.nodes[CR].root = LT_HEAP_ROOT_MODULE;
	assert_int_equal(lt_heap_graph_seal(&g), 0);
	assert_int_equal(chain(&g, CL, false, path, &nearest), 0);
	ASSERT_PATH(path, chain(&g, CL, true, path, &nearest), CL, CO, CR);
	/* Two roots as near: CD, a decoded holder, is queued before CO. */
	g.nodes[CR2].root = LT_HEAP_ROOT_MODULE;
	ASSERT_PATH(path, chain(&g, CL, true, path, &nearest), CL, CD, CR2);
	ASSERT_PATH(path, chain(&g, CD, true, path, &nearest), CD, CR2);
	assert_int_equal(chain(&g, CD, false, path, &nearest), 0);
	assert_int_equal(chain(&g, CL, false, path, &nearest), 0);
	lt_heap_graph_free(&g);
}

/*
 * No root: *nearest is the first accepted node in breadth-first order,
 * and path_to gives the way to it from the start.
 *
 *   L <- n1 <- n2 <- n3
 *   L <- m1 <- m2
 * BFS: L, n1, m1, n2, m2, n3 (holders in node order).
 */
enum { NL, NN1, NN2, NN3, NM1, NM2, NOUT, NNEAR };

static bool accepted[NNEAR];
static unsigned accept_calls;

static bool accept(void *arg, uint32_t node)
{
	assert_ptr_equal(arg, accepted);
	accept_calls++;
	return node < NNEAR && accepted[node];
}

static void test_nearest(void **state)
{
	struct lt_heap_graph g;
	uint32_t path[16], nearest;

	(void)state;
	make_nodes(&g, NNEAR);
	HOLDS(&g, NN1, NL);
	HOLDS(&g, NN2, NN1);
	HOLDS(&g, NN3, NN2);
	HOLDS(&g, NM1, NL);
	HOLDS(&g, NM2, NM1);
	assert_int_equal(lt_heap_graph_seal(&g), 0);

	memset(accepted, 0, sizeof(accepted));
	accepted[NN2] = accepted[NM2] = accepted[NN3] = true;
	assert_int_equal(lt_heap_graph_chain(&g, NL, false, SIZE_MAX, accept, accepted, path, 16,
					     &nearest), 0);
	assert_int_equal(nearest, NN2);
	ASSERT_PATH(path, lt_heap_graph_path_to(&g, nearest, path, 16), NL, NN1, NN2);
	ASSERT_PATH(path, lt_heap_graph_path_to(&g, NM2, path, 16), NL, NM1, NM2);
	ASSERT_PATH(path, lt_heap_graph_path_to(&g, NL, path, 16), NL);
	/* Too long for the room given. */
	assert_int_equal(lt_heap_graph_path_to(&g, NN3, path, 3), 0);
	ASSERT_PATH(path, lt_heap_graph_path_to(&g, NN3, path, 4), NL, NN1, NN2, NN3);
	/* Not met by that search (and past the graph). */
	assert_int_equal(lt_heap_graph_path_to(&g, NOUT, path, 16), 0);
	assert_int_equal(lt_heap_graph_path_to(&g, NNEAR, path, 16), 0);

	/* m1 comes before n2 in breadth-first order. */
	accepted[NM1] = true;
	assert_int_equal(lt_heap_graph_chain(&g, NL, false, SIZE_MAX, accept, accepted, path, 16,
					     &nearest), 0);
	assert_int_equal(nearest, NM1);
	/* The start itself, when accepted. */
	accepted[NL] = true;
	assert_int_equal(lt_heap_graph_chain(&g, NL, false, SIZE_MAX, accept, accepted, path, 16,
					     &nearest), 0);
	assert_int_equal(nearest, NL);
	/* None accepted. */
	memset(accepted, 0, sizeof(accepted));
	accept_calls = 0;
	assert_int_equal(lt_heap_graph_chain(&g, NL, false, SIZE_MAX, accept, accepted, path, 16,
					     &nearest), 0);
	assert_int_equal(nearest, LT_HEAP_NONE);
	assert_int_equal(accept_calls, 6);

	/* A later search from elsewhere: path_to answers for it, not the last. */
	assert_int_equal(lt_heap_graph_chain(&g, NN2, false, SIZE_MAX, accept, accepted, path, 16,
					     &nearest), 0);
	assert_int_equal(lt_heap_graph_path_to(&g, NM2, path, 16), 0);
	ASSERT_PATH(path, lt_heap_graph_path_to(&g, NN3, path, 16), NN2, NN3);
	/* With a root up there, nearest is left unset only for no-root searches. */
	g.nodes[NN3].root = LT_HEAP_ROOT_MODULE;
	accepted[NN1] = true;
	ASSERT_PATH(path, lt_heap_graph_chain(&g, NL, false, SIZE_MAX, accept, accepted, path, 16,
					      &nearest), NL, NN1, NN2, NN3);
	assert_int_equal(nearest, NN1);
	lt_heap_graph_free(&g);
}

/* max_visit bounds the nodes put on the search's queue, the start included. */
static void test_max_visit(void **state)
{
	struct lt_heap_graph g;
	uint32_t path[16], nearest;

	(void)state;
	make_nodes(&g, NSHORT);
	HOLDS(&g, A1, L);
	HOLDS(&g, A2, A1);
	HOLDS(&g, A3, A2);
	HOLDS(&g, R1, A3);
	g.nodes[R1].root = LT_HEAP_ROOT_MODULE;
	assert_int_equal(lt_heap_graph_seal(&g), 0);
	for (size_t v = 0; v < 5; v++) {
		assert_int_equal(lt_heap_graph_chain(&g, L, false, v, NULL, NULL, path, 16, &nearest),
				 0);
		/* What was met is what path_to knows. */
		if (v >= 2)
			ASSERT_PATH(path, lt_heap_graph_path_to(&g, A1, path, 16), L, A1);
		assert_int_equal(lt_heap_graph_path_to(&g, (uint32_t)(v ? v : 1), path, 16), 0);
	}
	ASSERT_PATH(path, lt_heap_graph_chain(&g, L, false, 5, NULL, NULL, path, 16, &nearest), L,
		    A1, A2, A3, R1);
	lt_heap_graph_free(&g);
}

/* A chain longer than max_path is not returned, one that fits is. */
static void test_max_path(void **state)
{
	struct lt_heap_graph g;
	uint32_t path[16], nearest;

	(void)state;
	make_nodes(&g, NSHORT);
	HOLDS(&g, A1, L);
	HOLDS(&g, A2, A1);
	HOLDS(&g, A3, A2);
	HOLDS(&g, R1, A3);
	g.nodes[R1].root = LT_HEAP_ROOT_MODULE;
	assert_int_equal(lt_heap_graph_seal(&g), 0);
	path[4] = 0xdead;
	assert_int_equal(lt_heap_graph_chain(&g, L, false, SIZE_MAX, NULL, NULL, path, 4, &nearest),
			 0);
	/* Nothing written past the room given. */
	assert_int_equal(path[4], 0xdead);
	ASSERT_PATH(path, lt_heap_graph_chain(&g, L, false, SIZE_MAX, NULL, NULL, path, 5,
					      &nearest), L, A1, A2, A3, R1);
	assert_int_equal(path[5 - 1], R1);
	assert_int_equal(lt_heap_graph_chain(&g, R1, false, SIZE_MAX, NULL, NULL, path, 0, &nearest),
			 0);
	ASSERT_PATH(path, lt_heap_graph_chain(&g, R1, false, SIZE_MAX, NULL, NULL, path, 1,
					      &nearest), R1);
	lt_heap_graph_free(&g);
}

/* A long line of holders (deeper than any recursion would go) and a wide
 * fan of them: the search is iterative and visits each node once. */
static void test_long_and_wide(void **state)
{
	struct lt_heap_graph g;
	const uint32_t n = 200000;
	static uint32_t path[200001];
	uint32_t nearest;

	(void)state;
	make_nodes(&g, n + 1);
	/* i + 1 holds i; n is the root. */
	for (uint32_t i = 0; i < n; i++)
		HOLDS(&g, i + 1, (int)i);
	g.nodes[n].root = LT_HEAP_ROOT_MODULE;
	assert_int_equal(lt_heap_graph_seal(&g), 0);
	assert_int_equal(lt_heap_graph_chain(&g, 0, false, SIZE_MAX, NULL, NULL, path, n + 1,
					     &nearest), n + 1);
	for (uint32_t i = 0; i <= n; i++)
		assert_int_equal(path[i], i);
	lt_heap_graph_free(&g);

	/* Node 0 held by all others, each held by every other: one step. */
	make_nodes(&g, 300);
	for (uint32_t i = 1; i < 300; i++) {
		lt_heap_graph_begin(&g, i, false);
		for (uint32_t j = 0; j < 300; j++)
			if (j != i)
				assert_int_equal(lt_heap_graph_edge(&g, i, j, false), 0);
	}
	g.nodes[299].root = LT_HEAP_ROOT_CLASS;
	assert_int_equal(lt_heap_graph_seal(&g), 0);
	ASSERT_PATH(path, chain(&g, 0, false, path, &nearest), 0, 299);
	lt_heap_graph_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_many),
		cmocka_unit_test(test_edges_and_holders),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_shortest_chain),
		cmocka_unit_test(test_diamond_and_cycle),
		cmocka_unit_test(test_conservative),
		cmocka_unit_test(test_nearest),
		cmocka_unit_test(test_max_visit),
		cmocka_unit_test(test_max_path),
		cmocka_unit_test(test_long_and_wide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
