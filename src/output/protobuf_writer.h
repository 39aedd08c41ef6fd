/* SPDX-License-Identifier: MIT */
/*
 * A minimal protocol-buffers encoder: a growable byte buffer and the wire
 * types pprof needs (varints, length-delimited fields, packed repeated
 * integers). Nested messages are encoded into their own buffer, then
 * appended with lt_pb_message.
 *
 * Errors are sticky: after an allocation failure every call does nothing
 * and returns -ENOMEM, so a caller can encode a whole message and check
 * once at the end.
 */
#ifndef LT_PROTOBUF_WRITER_H
#define LT_PROTOBUF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lt_pb_wire { LT_PB_VARINT = 0, LT_PB_LEN = 2 };

struct lt_pb_buf {
	uint8_t *data;
	size_t len, cap;
	bool failed;
};

void lt_pb_init(struct lt_pb_buf *b);
void lt_pb_free(struct lt_pb_buf *b);
/* Empties b, keeping its memory (and clearing a failure). */
void lt_pb_reset(struct lt_pb_buf *b);

/* Raw bytes and a raw varint, without a field tag. */
int lt_pb_raw(struct lt_pb_buf *b, const void *data, size_t len);
int lt_pb_varint(struct lt_pb_buf *b, uint64_t v);

/* Fields. A negative int64 takes ten bytes, as protobuf's int64 does. */
int lt_pb_uint(struct lt_pb_buf *b, uint32_t field, uint64_t v);
int lt_pb_int(struct lt_pb_buf *b, uint32_t field, int64_t v);
int lt_pb_bool(struct lt_pb_buf *b, uint32_t field, bool v);
int lt_pb_bytes(struct lt_pb_buf *b, uint32_t field, const void *data, size_t len);
/* NULL is written as "". */
int lt_pb_string(struct lt_pb_buf *b, uint32_t field, const char *s);
/* A nested message: sub's bytes, length-prefixed. */
int lt_pb_message(struct lt_pb_buf *b, uint32_t field, const struct lt_pb_buf *sub);
/* A packed repeated uint64/int64 field; nothing at all when n is 0. */
int lt_pb_packed(struct lt_pb_buf *b, uint32_t field, const uint64_t *v, size_t n);

#endif
