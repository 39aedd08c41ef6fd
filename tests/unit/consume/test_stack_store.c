// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consume/stack_store.h"

static uint32_t intern(struct lt_stack_store *s, const uint64_t *ips, uint32_t n, bool want_new)
{
	uint32_t id = UINT32_MAX;
	bool is_new = !want_new;

	assert_int_equal(lt_stacks_intern(s, ips, n, &id, &is_new), 0);
	assert_int_equal(is_new, want_new);
	assert_true(id != UINT32_MAX);
	return id;
}

static void assert_stack_is(const struct lt_stack_store *s, uint32_t id, const uint64_t *ips,
			    uint32_t n)
{
	const struct lt_stack *st = lt_stacks_get(s, id);

	assert_non_null(st);
	assert_int_equal(st->nframes, n);
	assert_int_equal(st->hash, lt_stack_hash(ips, n));
	assert_false(st->resolved);
	assert_null(st->locs);
	if (n)
		assert_memory_equal(st->ips, ips, n * sizeof(*ips));
}

static void test_same_frames_same_id(void **state)
{
	struct lt_stack_store s;
	const uint64_t a[] = { 0x401000, 0x401234, 0x7f0000001000 };
	uint64_t copy[3];
	uint32_t id1, id2;
	(void)state;

	lt_stacks_init(&s);
	id1 = intern(&s, a, 3, true);
	assert_int_equal(id1, 0);
	/* A different buffer with equal contents is the same stack. */
	memcpy(copy, a, sizeof(copy));
	id2 = intern(&s, copy, 3, false);
	assert_int_equal(id2, id1);
	assert_int_equal(s.count, 1);
	/* The store keeps its own copy. */
	copy[0] = 0;
	assert_stack_is(&s, id1, a, 3);
	lt_stacks_free(&s);
}

static void test_differs_in_last_frame(void **state)
{
	struct lt_stack_store s;
	const uint64_t a[] = { 1, 2, 3, 4 };
	const uint64_t b[] = { 1, 2, 3, 5 };
	uint32_t ia, ib;
	(void)state;

	lt_stacks_init(&s);
	ia = intern(&s, a, 4, true);
	ib = intern(&s, b, 4, true);
	assert_int_not_equal(ia, ib);
	assert_int_equal(intern(&s, a, 4, false), ia);
	assert_int_equal(intern(&s, b, 4, false), ib);
	assert_stack_is(&s, ia, a, 4);
	assert_stack_is(&s, ib, b, 4);
	lt_stacks_free(&s);
}

static void test_differs_in_order(void **state)
{
	struct lt_stack_store s;
	const uint64_t a[] = { 0x10, 0x20, 0x30 };
	const uint64_t b[] = { 0x30, 0x20, 0x10 };
	const uint64_t c[] = { 0x20, 0x10, 0x30 };
	uint32_t ia, ib, ic;
	(void)state;

	lt_stacks_init(&s);
	ia = intern(&s, a, 3, true);
	ib = intern(&s, b, 3, true);
	ic = intern(&s, c, 3, true);
	assert_int_not_equal(ia, ib);
	assert_int_not_equal(ia, ic);
	assert_int_not_equal(ib, ic);
	assert_int_equal(s.count, 3);
	assert_stack_is(&s, ia, a, 3);
	assert_stack_is(&s, ib, b, 3);
	assert_stack_is(&s, ic, c, 3);
	lt_stacks_free(&s);
}

static void test_prefix_is_a_different_stack(void **state)
{
	struct lt_stack_store s;
	const uint64_t a[] = { 7, 8, 9, 10, 11 };
	uint32_t ids[6];
	(void)state;

	lt_stacks_init(&s);
	for (uint32_t n = 0; n <= 5; n++)
		ids[n] = intern(&s, a, n, true);
	for (uint32_t n = 0; n <= 5; n++) {
		assert_int_equal(ids[n], n);
		assert_int_equal(intern(&s, a, n, false), ids[n]);
		assert_stack_is(&s, ids[n], a, n);
	}
	assert_int_equal(s.count, 6);
	lt_stacks_free(&s);
}

static void test_trailing_zero_frame_differs(void **state)
{
	struct lt_stack_store s;
	const uint64_t a[] = { 5, 6 };
	const uint64_t b[] = { 5, 6, 0 };
	(void)state;

	lt_stacks_init(&s);
	assert_int_not_equal(intern(&s, a, 2, true), intern(&s, b, 3, true));
	lt_stacks_free(&s);
}

static void test_zero_length_stack(void **state)
{
	struct lt_stack_store s;
	const uint64_t one[] = { 0 };
	uint32_t id0, id1;
	(void)state;

	lt_stacks_init(&s);
	id0 = intern(&s, NULL, 0, true);
	assert_int_equal(intern(&s, NULL, 0, false), id0);
	assert_int_equal(intern(&s, one, 0, false), id0);
	id1 = intern(&s, one, 1, true);
	assert_int_not_equal(id0, id1);
	assert_int_equal(lt_stacks_get(&s, id0)->nframes, 0);
	assert_int_equal(lt_stacks_get(&s, id1)->nframes, 1);
	assert_int_equal(lt_stacks_get(&s, id1)->ips[0], 0);
	lt_stacks_free(&s);
}

static void test_get_out_of_range(void **state)
{
	struct lt_stack_store s;
	const uint64_t a[] = { 1 };
	(void)state;

	lt_stacks_init(&s);
	assert_null(lt_stacks_get(&s, 0));
	intern(&s, a, 1, true);
	assert_non_null(lt_stacks_get(&s, 0));
	assert_null(lt_stacks_get(&s, 1));
	assert_null(lt_stacks_get(&s, UINT32_MAX));
	lt_stacks_free(&s);
	assert_int_equal(s.count, 0);
	assert_null(s.stacks);
	assert_null(s.index);
}

static void test_hash_depends_on_contents_order_length(void **state)
{
	const uint64_t a[] = { 1, 2, 3 };
	const uint64_t b[] = { 3, 2, 1 };
	(void)state;

	assert_int_equal(lt_stack_hash(a, 3), lt_stack_hash(a, 3));
	assert_int_not_equal(lt_stack_hash(a, 3), lt_stack_hash(b, 3));
	assert_int_not_equal(lt_stack_hash(a, 3), lt_stack_hash(a, 2));
	assert_int_not_equal(lt_stack_hash(a, 0), lt_stack_hash(a, 1));
}

/*
 * lt_stack_hash() is a chain of bijections over a 64-bit state, so the last
 * frame of a stack can be chosen to give it the hash of any other stack.
 * state_before_last() copies the chain up to the last frame; if the hash
 * function changes, the collision is not produced and the tests skip.
 */
static uint64_t state_before_last(const uint64_t *ips, uint32_t nframes)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ nframes;

	for (uint32_t i = 0; i + 1 < nframes; i++) {
		h ^= ips[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 31;
		h *= 0x9e3779b97f4a7c15ULL;
	}
	return h;
}

/* Rewrite b's last frame so that b hashes like a (both non-empty). */
static void force_collision(const uint64_t *a, uint32_t na, uint64_t *b, uint32_t nb)
{
	b[nb - 1] = a[na - 1] ^ state_before_last(a, na) ^ state_before_last(b, nb);
	if (lt_stack_hash(a, na) != lt_stack_hash(b, nb))
		skip();
}

static void test_forced_collision_same_length(void **state)
{
	struct lt_stack_store s;
	const uint64_t a[] = { 0x401000, 0x402000, 0x403000 };
	uint64_t b[] = { 0x501000, 0x402000, 0 };
	uint32_t ia, ib;
	(void)state;

	force_collision(a, 3, b, 3);
	assert_memory_not_equal(a, b, sizeof(a));
	lt_stacks_init(&s);
	ia = intern(&s, a, 3, true);
	ib = intern(&s, b, 3, true);
	assert_int_not_equal(ia, ib);
	assert_int_equal(intern(&s, a, 3, false), ia);
	assert_int_equal(intern(&s, b, 3, false), ib);
	assert_stack_is(&s, ia, a, 3);
	assert_stack_is(&s, ib, b, 3);
	lt_stacks_free(&s);
}

static void test_forced_collision_longer_stack_first(void **state)
{
	/* b extends a by one frame and hashes like it: the frames compared
	 * over a's length are equal, only the lengths tell them apart. */
	struct lt_stack_store s;
	const uint64_t a[] = { 0x401000, 0x402000, 0x403000 };
	uint64_t b[] = { 0x401000, 0x402000, 0x403000, 0 };
	uint32_t ia, ib;
	(void)state;

	force_collision(a, 3, b, 4);
	lt_stacks_init(&s);
	ib = intern(&s, b, 4, true);
	ia = intern(&s, a, 3, true);
	assert_int_not_equal(ia, ib);
	assert_int_equal(intern(&s, b, 4, false), ib);
	assert_int_equal(intern(&s, a, 3, false), ia);
	assert_stack_is(&s, ia, a, 3);
	assert_stack_is(&s, ib, b, 4);
	lt_stacks_free(&s);
}

static void test_forced_collision_many(void **state)
{
	/* 64 stacks sharing one hash: every one gets and keeps its own id. */
	const uint64_t base[] = { 0x10, 0x20 };
	uint64_t stacks[64][3];
	uint32_t ids[64];
	struct lt_stack_store s;
	(void)state;

	lt_stacks_init(&s);
	for (uint32_t i = 0; i < 64; i++) {
		stacks[i][0] = 0x7000 + i;
		stacks[i][1] = 0x8000;
		force_collision(base, 2, stacks[i], 3);
		ids[i] = intern(&s, stacks[i], 3, true);
		assert_int_equal(ids[i], i);
	}
	for (uint32_t i = 0; i < 64; i++) {
		assert_int_equal(intern(&s, stacks[i], 3, false), ids[i]);
		assert_stack_is(&s, ids[i], stacks[i], 3);
	}
	assert_int_equal(s.count, 64);
	lt_stacks_free(&s);
}

/* Stack i: depth 1..24, frames derived from i so that many stacks share
 * prefixes and suffixes (like real call trees) yet all differ. */
static uint32_t make_stack(size_t i, uint64_t *ips)
{
	uint32_t n = (uint32_t)(i % 24) + 1;

	for (uint32_t f = 0; f < n; f++)
		ips[f] = 0x400000 + (uint64_t)((i / 24) >> (f % 8)) * 0x10 + f;
	/* Make every stack unique: the innermost frame carries i itself. */
	ips[0] = 0x7f0000000000ULL + i;
	return n;
}

static void test_many_stacks_stable_ids(void **state)
{
	const size_t n = 100000;
	struct lt_stack_store s;
	uint64_t ips[24];
	uint32_t *ids = malloc(n * sizeof(*ids));
	(void)state;

	assert_non_null(ids);
	lt_stacks_init(&s);
	for (size_t i = 0; i < n; i++) {
		uint32_t nf = make_stack(i, ips);

		ids[i] = intern(&s, ips, nf, true);
		assert_int_equal(ids[i], i);
	}
	assert_int_equal(s.count, n);
	/* Interning again, in reverse order, returns the same ids. */
	for (size_t i = n; i-- > 0;) {
		uint32_t nf = make_stack(i, ips);

		assert_int_equal(intern(&s, ips, nf, false), ids[i]);
	}
	assert_int_equal(s.count, n);
	/* Dedup is exact: every id holds precisely the frames it was given. */
	for (size_t i = 0; i < n; i++) {
		uint32_t nf = make_stack(i, ips);

		assert_stack_is(&s, ids[i], ips, nf);
	}
	lt_stacks_free(&s);
	free(ids);
}

static void test_many_stacks_with_duplicates(void **state)
{
	/* 300k interns over 20k distinct stacks, random order: ids stay put. */
	const size_t distinct = 20000, total = 300000;
	uint32_t *ids = malloc(distinct * sizeof(*ids));
	struct lt_stack_store s;
	uint64_t ips[24], x = 88172645463325252ULL;
	size_t added = 0;
	(void)state;

	assert_non_null(ids);
	for (size_t i = 0; i < distinct; i++)
		ids[i] = UINT32_MAX;
	lt_stacks_init(&s);
	for (size_t op = 0; op < total; op++) {
		size_t i;
		uint32_t nf, id;
		bool is_new;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = (size_t)(x % distinct);
		nf = make_stack(i, ips);
		assert_int_equal(lt_stacks_intern(&s, ips, nf, &id, &is_new), 0);
		if (ids[i] == UINT32_MAX) {
			assert_true(is_new);
			assert_int_equal(id, added);
			ids[i] = id;
			added++;
		} else {
			assert_false(is_new);
			assert_int_equal(id, ids[i]);
		}
	}
	assert_int_equal(s.count, added);
	for (size_t i = 0; i < distinct; i++) {
		uint32_t nf = make_stack(i, ips);

		if (ids[i] != UINT32_MAX)
			assert_stack_is(&s, ids[i], ips, nf);
	}
	lt_stacks_free(&s);
	free(ids);
}

static void test_unref_releases_and_reuses_id(void **state)
{
	struct lt_stack_store s;
	const uint64_t a[] = { 1, 2, 3 }, b[] = { 4, 5 }, c[] = { 6 };
	uint32_t ia, ib, ic, found;

	(void)state;
	lt_stacks_init(&s);
	ia = intern(&s, a, 3, true);
	ib = intern(&s, b, 2, true);
	lt_stacks_ref(&s, ia);
	lt_stacks_ref(&s, ia);
	lt_stacks_ref(&s, ib);
	assert_int_equal(s.live, 2);
	assert_false(lt_stacks_unref(&s, ia)); /* one block left on it */
	assert_true(lt_stacks_find(&s, a, 3, &found));
	assert_true(lt_stacks_unref(&s, ia));
	assert_int_equal(s.live, 1);
	assert_true(lt_stacks_get(&s, ia)->released);
	assert_false(lt_stacks_find(&s, a, 3, &found));
	/* Extra unrefs and refs of a released id change nothing. */
	assert_false(lt_stacks_unref(&s, ia));
	lt_stacks_ref(&s, ia);
	assert_int_equal(lt_stacks_get(&s, ia)->refs, 0);
	/* A stack never referenced is not released by an unref. */
	assert_false(lt_stacks_unref(&s, 99));
	/* The next new stack takes the released id; old ones keep theirs. */
	ic = intern(&s, c, 1, true);
	assert_int_equal(ic, ia);
	assert_stack_is(&s, ic, c, 1);
	assert_int_equal(s.count, 2);
	assert_int_equal(s.live, 2);
	assert_int_equal(intern(&s, b, 2, false), ib);
	/* And the first stack, seen again, is new. */
	assert_int_equal(intern(&s, a, 3, true), 2);
	lt_stacks_free(&s);
}

/*
 * Removal from the open-addressing index must keep every other stack
 * findable: many stacks, a pseudo-random half released (in an order that
 * creates holes inside probe chains), the rest looked up, then all re-added.
 */
static void test_release_keeps_index_consistent(void **state)
{
	enum { N = 5000 };
	struct lt_stack_store s;
	uint32_t *ids = calloc(N, sizeof(*ids)), id;
	bool *gone = calloc(N, sizeof(*gone));
	uint64_t ips[4];
	uint64_t x = 88172645463325252ULL;

	(void)state;
	assert_non_null(ids);
	assert_non_null(gone);
	lt_stacks_init(&s);
	for (uint32_t i = 0; i < N; i++) {
		for (int k = 0; k < 4; k++)
			ips[k] = 0x400000 + i * 16 + (uint64_t)k;
		ids[i] = intern(&s, ips, 4, true);
		lt_stacks_ref(&s, ids[i]);
	}
	for (uint32_t n = 0; n < N / 2; n++) {
		uint32_t i;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = (uint32_t)(x % N);
		if (gone[i])
			continue;
		gone[i] = true;
		assert_true(lt_stacks_unref(&s, ids[i]));
	}
	for (uint32_t i = 0; i < N; i++) {
		for (int k = 0; k < 4; k++)
			ips[k] = 0x400000 + i * 16 + (uint64_t)k;
		assert_int_equal(lt_stacks_find(&s, ips, 4, &id), !gone[i]);
		if (!gone[i])
			assert_int_equal(id, ids[i]);
	}
	for (uint32_t i = 0; i < N; i++) {
		for (int k = 0; k < 4; k++)
			ips[k] = 0x400000 + i * 16 + (uint64_t)k;
		id = intern(&s, ips, 4, gone[i]);
		assert_stack_is(&s, id, ips, 4);
	}
	assert_int_equal(s.count, N);
	assert_int_equal(s.live, N);
	assert_int_equal(s.nfree, 0);
	lt_stacks_free(&s);
	free(ids);
	free(gone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_frames_same_id),
		cmocka_unit_test(test_differs_in_last_frame),
		cmocka_unit_test(test_differs_in_order),
		cmocka_unit_test(test_prefix_is_a_different_stack),
		cmocka_unit_test(test_trailing_zero_frame_differs),
		cmocka_unit_test(test_zero_length_stack),
		cmocka_unit_test(test_get_out_of_range),
		cmocka_unit_test(test_hash_depends_on_contents_order_length),
		cmocka_unit_test(test_forced_collision_same_length),
		cmocka_unit_test(test_forced_collision_longer_stack_first),
		cmocka_unit_test(test_forced_collision_many),
		cmocka_unit_test(test_many_stacks_stable_ids),
		cmocka_unit_test(test_many_stacks_with_duplicates),
		cmocka_unit_test(test_unref_releases_and_reuses_id),
		cmocka_unit_test(test_release_keeps_index_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
