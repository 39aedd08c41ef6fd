// SPDX-License-Identifier: MIT
#include "output/protobuf_writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void lt_pb_init(struct lt_pb_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void lt_pb_free(struct lt_pb_buf *b)
{
	free(b->data);
	lt_pb_init(b);
}

void lt_pb_reset(struct lt_pb_buf *b)
{
	b->len = 0;
	b->failed = false;
}

static int reserve(struct lt_pb_buf *b, size_t more)
{
	size_t cap;
	uint8_t *grown;

	if (b->failed)
		return -ENOMEM;
	if (more <= b->cap - b->len)
		return 0;
	if (more > SIZE_MAX / 2 - b->len)
		goto fail;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < more)
		cap *= 2;
	grown = realloc(b->data, cap);
	if (!grown)
		goto fail;
	b->data = grown;
	b->cap = cap;
	return 0;
fail:
	b->failed = true;
	return -ENOMEM;
}

int lt_pb_raw(struct lt_pb_buf *b, const void *data, size_t len)
{
	if (reserve(b, len))
		return -ENOMEM;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int lt_pb_varint(struct lt_pb_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	return lt_pb_raw(b, tmp, n);
}

static int tag(struct lt_pb_buf *b, uint32_t field, enum lt_pb_wire wire)
{
	return lt_pb_varint(b, (uint64_t)field << 3 | wire);
}

int lt_pb_uint(struct lt_pb_buf *b, uint32_t field, uint64_t v)
{
	if (tag(b, field, LT_PB_VARINT))
		return -ENOMEM;
	return lt_pb_varint(b, v);
}

int lt_pb_int(struct lt_pb_buf *b, uint32_t field, int64_t v)
{
	/* Two's complement, sign-extended to 64 bits: protobuf's int64 rule. */
	return lt_pb_uint(b, field, (uint64_t)v);
}

int lt_pb_bool(struct lt_pb_buf *b, uint32_t field, bool v)
{
	return lt_pb_uint(b, field, v ? 1 : 0);
}

int lt_pb_bytes(struct lt_pb_buf *b, uint32_t field, const void *data, size_t len)
{
	if (tag(b, field, LT_PB_LEN) || lt_pb_varint(b, len))
		return -ENOMEM;
	return lt_pb_raw(b, data, len);
}

int lt_pb_string(struct lt_pb_buf *b, uint32_t field, const char *s)
{
	return lt_pb_bytes(b, field, s ? s : "", s ? strlen(s) : 0);
}

int lt_pb_message(struct lt_pb_buf *b, uint32_t field, const struct lt_pb_buf *sub)
{
	if (sub->failed) {
		b->failed = true;
		return -ENOMEM;
	}
	return lt_pb_bytes(b, field, sub->data, sub->len);
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int lt_pb_packed(struct lt_pb_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
	size_t len = 0;

	if (!n)
		return b->failed ? -ENOMEM : 0;
	for (size_t i = 0; i < n; i++)
		len += varint_len(v[i]);
	if (tag(b, field, LT_PB_LEN) || lt_pb_varint(b, len) || reserve(b, len))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		lt_pb_varint(b, v[i]);
	return 0;
}
