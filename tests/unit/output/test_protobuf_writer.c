// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output/protobuf_writer.h"

static void check_bytes(const struct lt_pb_buf *b, const uint8_t *want, size_t n)
{
	assert_false(b->failed);
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
}

static void check_varint(uint64_t v, const uint8_t *want, size_t n)
{
	struct lt_pb_buf b;

	lt_pb_init(&b);
	assert_int_equal(lt_pb_varint(&b, v), 0);
	check_bytes(&b, want, n);
	lt_pb_free(&b);
}

static void test_varint_edges(void **state)
{
	(void)state;
	check_varint(0, (const uint8_t[]){ 0x00 }, 1);
	check_varint(1, (const uint8_t[]){ 0x01 }, 1);
	check_varint(127, (const uint8_t[]){ 0x7f }, 1);
	check_varint(128, (const uint8_t[]){ 0x80, 0x01 }, 2);
	check_varint(300, (const uint8_t[]){ 0xac, 0x02 }, 2);
	check_varint(16383, (const uint8_t[]){ 0xff, 0x7f }, 2);
	check_varint(16384, (const uint8_t[]){ 0x80, 0x80, 0x01 }, 3);
	check_varint(1ULL << 63,
		     (const uint8_t[]){ 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, 10);
	check_varint(UINT64_MAX,
		     (const uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 10);
}

static void test_fields(void **state)
{
	static const uint8_t want[] = {
		0x08, 0x96, 0x01,                   /* field 1 = 150 */
		0x10, 0xff, 0xff, 0xff, 0xff, 0xff, /* field 2 = -1: ten bytes */
		0xff, 0xff, 0xff, 0xff, 0x01,
		0x18, 0x00,                         /* field 3 = 0, written */
		0x20, 0x01,                         /* field 4 = true */
		0x2a, 0x02, 'h', 'i',               /* field 5 = "hi" */
		0x32, 0x00,                         /* field 6 = NULL, as "" */
		0x80, 0x01, 0x07,                   /* field 16: a two-byte tag */
	};
	struct lt_pb_buf b;

	(void)state;
	lt_pb_init(&b);
	assert_int_equal(lt_pb_uint(&b, 1, 150), 0);
	assert_int_equal(lt_pb_int(&b, 2, -1), 0);
	assert_int_equal(lt_pb_int(&b, 3, 0), 0);
	assert_int_equal(lt_pb_bool(&b, 4, true), 0);
	assert_int_equal(lt_pb_string(&b, 5, "hi"), 0);
	assert_int_equal(lt_pb_string(&b, 6, NULL), 0);
	assert_int_equal(lt_pb_uint(&b, 16, 7), 0);
	check_bytes(&b, want, sizeof(want));
	lt_pb_free(&b);
}

static void test_int64_min(void **state)
{
	static const uint8_t want[] = { 0x08, 0x80, 0x80, 0x80, 0x80, 0x80,
					0x80, 0x80, 0x80, 0x80, 0x01 };
	struct lt_pb_buf b;

	(void)state;
	lt_pb_init(&b);
	assert_int_equal(lt_pb_int(&b, 1, INT64_MIN), 0);
	check_bytes(&b, want, sizeof(want));
	lt_pb_free(&b);
}

static void test_nesting(void **state)
{
	/* outer { 3: middle { 1: 150, 2: inner { 1: "a" } } } */
	static const uint8_t want[] = { 0x1a, 0x08, 0x08, 0x96, 0x01, 0x12, 0x03, 0x0a, 0x01, 'a' };
	struct lt_pb_buf inner, middle, outer;

	(void)state;
	lt_pb_init(&inner);
	lt_pb_init(&middle);
	lt_pb_init(&outer);
	assert_int_equal(lt_pb_string(&inner, 1, "a"), 0);
	assert_int_equal(lt_pb_uint(&middle, 1, 150), 0);
	assert_int_equal(lt_pb_message(&middle, 2, &inner), 0);
	assert_int_equal(lt_pb_message(&outer, 3, &middle), 0);
	check_bytes(&outer, want, sizeof(want));

	/* An empty message is a zero length, not nothing. */
	lt_pb_reset(&outer);
	lt_pb_reset(&inner);
	assert_int_equal(lt_pb_message(&outer, 1, &inner), 0);
	check_bytes(&outer, (const uint8_t[]){ 0x0a, 0x00 }, 2);
	lt_pb_free(&inner);
	lt_pb_free(&middle);
	lt_pb_free(&outer);
}

static void test_packed(void **state)
{
	/* The protobuf documentation's own example: 4: [3, 270, 86942]. */
	static const uint8_t want[] = { 0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05 };
	const uint64_t v[] = { 3, 270, 86942 };
	const uint64_t big[] = { 0, UINT64_MAX };
	struct lt_pb_buf b;

	(void)state;
	lt_pb_init(&b);
	assert_int_equal(lt_pb_packed(&b, 4, v, 3), 0);
	check_bytes(&b, want, sizeof(want));

	lt_pb_reset(&b);
	assert_int_equal(lt_pb_packed(&b, 4, v, 0), 0);
	assert_int_equal(b.len, 0);

	lt_pb_reset(&b);
	assert_int_equal(lt_pb_packed(&b, 2, big, 2), 0);
	assert_int_equal(b.len, 2 + 1 + 10);
	assert_int_equal(b.data[0], 0x12);
	assert_int_equal(b.data[1], 11);
	assert_int_equal(b.data[2], 0);
	assert_int_equal(b.data[12], 0x01);
	lt_pb_free(&b);
}

static void test_growth(void **state)
{
	struct lt_pb_buf b;
	uint8_t chunk[1000];

	(void)state;
	lt_pb_init(&b);
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)i;
	for (int i = 0; i < 300; i++)
		assert_int_equal(lt_pb_raw(&b, chunk, sizeof(chunk)), 0);
	assert_int_equal(b.len, 300 * sizeof(chunk));
	assert_true(b.cap >= b.len);
	assert_memory_equal(b.data + 299 * sizeof(chunk), chunk, sizeof(chunk));
	lt_pb_reset(&b);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	lt_pb_free(&b);
	assert_null(b.data);
}

static void test_failure_is_sticky(void **state)
{
	struct lt_pb_buf b, sub;

	(void)state;
	lt_pb_init(&b);
	lt_pb_init(&sub);
	assert_int_equal(lt_pb_uint(&b, 1, 1), 0);
	b.failed = true;
	assert_int_equal(lt_pb_uint(&b, 1, 2), -ENOMEM);
	assert_int_equal(lt_pb_string(&b, 2, "x"), -ENOMEM);
	assert_int_equal(lt_pb_packed(&b, 3, (const uint64_t[]){ 1 }, 1), -ENOMEM);
	assert_int_equal(b.len, 2);

	/* A failed nested message fails its parent. */
	lt_pb_reset(&b);
	sub.failed = true;
	assert_int_equal(lt_pb_message(&b, 1, &sub), -ENOMEM);
	assert_true(b.failed);
	lt_pb_free(&b);
	lt_pb_free(&sub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint_edges),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_int64_min),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_packed),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_failure_is_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
