// SPDX-License-Identifier: MIT
/*
 * Formats: Objects/lnotab_notes.txt (3.8-3.10) and Objects/locations.md
 * (3.11+) in CPython's sources; summarised in python_offsets.md section 5.
 */
#include "python/python_lines.h"

#include <limits.h>
#include <stdbool.h>

/* Lines are ints in CPython; a table that walks out of that range is bogus. */
static int as_line(int64_t line)
{
	return line < 0 || line > INT_MAX ? -1 : (int)line;
}

int lt_py_line_lnotab(const uint8_t *table, size_t len, int firstlineno, int64_t offset)
{
	int64_t line = firstlineno, addr = 0;
	size_t i;

	/* Pairs (addr_incr, line_incr): each line change applies from its
	 * address on, so stop at the first address beyond the offset. A lone
	 * trailing byte is not a pair and is ignored, like CPython does. */
	for (i = 0; i + 1 < len; i += 2) {
		addr += table[i];
		if (addr > offset)
			break;
		line += (int8_t)table[i + 1];
	}
	return as_line(line);
}

int lt_py_line_310(const uint8_t *table, size_t len, int firstlineno, int64_t offset)
{
	int64_t line = firstlineno, start, end = 0;
	size_t i;

	if (offset < 0)
		return firstlineno;
	/* Pairs (sdelta, ldelta) cover consecutive byte ranges; ldelta -128
	 * means the range has no line and leaves the running line alone. */
	for (i = 0; i + 1 < len; i += 2) {
		start = end;
		end += table[i];
		if ((int8_t)table[i + 1] != -128)
			line += (int8_t)table[i + 1];
		if (offset >= start && offset < end)
			return (int8_t)table[i + 1] == -128 ? -1 : as_line(line);
	}
	return -1;
}

struct cursor {
	const uint8_t *p, *end;
};

/* 6-bit groups, least significant first, 0x40 = more follow. Continuation
 * bytes never have bit 7 set (that marks an entry header). */
static bool read_varint(struct cursor *c, uint32_t *out)
{
	uint32_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		if (c->p >= c->end || shift > 24)
			return false;
		b = *c->p++;
		if (b & 0x80)
			return false;
		v |= (uint32_t)(b & 0x3f) << shift;
		shift += 6;
	} while (b & 0x40);
	*out = v;
	return true;
}

static bool read_svarint(struct cursor *c, int64_t *out)
{
	uint32_t v;

	if (!read_varint(c, &v))
		return false;
	*out = (v & 1) ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
	return true;
}

static bool skip_bytes(struct cursor *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return false;
	c->p += n;
	return true;
}

/* Move past one entry, updating *line; *has_line is false for code 15. */
static bool next_entry(struct cursor *c, int64_t *line, bool *has_line, int64_t *units)
{
	uint32_t ignored;
	int64_t delta;
	uint8_t head;
	int code, i;

	if (c->p >= c->end || !(*c->p & 0x80))
		return false;
	head = *c->p++;
	code = (head >> 3) & 15;
	*units = (head & 7) + 1;
	*has_line = code != 15;
	if (code <= 9)
		return skip_bytes(c, 1); /* short form: same line, one column byte */
	if (code <= 12) {
		*line += code - 10;     /* one-line form: start and end column bytes */
		return skip_bytes(c, 2);
	}
	if (code == 15)
		return true;            /* no location */
	if (!read_svarint(c, &delta))
		return false;
	*line += delta;
	if (code == 13)
		return true;            /* no column */
	/* Long form: end-line delta, column + 1, end column + 1. */
	for (i = 0; i < 3; i++)
		if (!read_varint(c, &ignored))
			return false;
	return true;
}

int lt_py_line_locations(const uint8_t *table, size_t len, int firstlineno, int64_t offset)
{
	struct cursor c;
	int64_t line = firstlineno, pos = 0, units, index;
	bool has_line;

	if (offset < 0)
		return firstlineno;
	if (!len)
		return -1; /* also keeps NULL + 0 out of the pointer arithmetic */
	c = (struct cursor){ table, table + len };
	index = offset / 2; /* entries count 2-byte code units */
	while (c.p < c.end) {
		if (!next_entry(&c, &line, &has_line, &units))
			return -1;
		if (index < pos + units)
			return has_line ? as_line(line) : -1;
		pos += units;
	}
	return -1;
}

int lt_py_line_decode(enum lt_py_lines_kind kind, const uint8_t *table, size_t len,
		      int firstlineno, int64_t offset)
{
	switch (kind) {
	case LT_PY_LINES_LNOTAB:
		return lt_py_line_lnotab(table, len, firstlineno, offset);
	case LT_PY_LINES_310:
		return lt_py_line_310(table, len, firstlineno, offset);
	case LT_PY_LINES_LOCATIONS:
		return lt_py_line_locations(table, len, firstlineno, offset);
	}
	return -1;
}
