/* SPDX-License-Identifier: MIT */
/*
 * For unit tests of JSON writers (after cmocka.h): a strict parser that
 * checks a text is one JSON value and keeps its strings.
 */
#ifndef LT_TEST_JSON_CHECK_H
#define LT_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A strict JSON parser (RFC 8259) that keeps every string value and key,
 * decoded to UTF-8, so a test can see what the page's JSON.parse will see.
 */
struct json {
	const char *p;
	char **strings;
	size_t nstrings;
};

static void ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static int hex4(const char *s, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned v;

		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = (unsigned)(c - 'A' + 10);
		else
			return -1;
		*out = *out << 4 | v;
	}
	return 0;
}

static void put_utf8(FILE *f, unsigned cp)
{
	if (cp < 0x80) {
		fputc((int)cp, f);
	} else if (cp < 0x800) {
		fputc((int)(0xc0 | cp >> 6), f);
		fputc((int)(0x80 | (cp & 0x3f)), f);
	} else if (cp < 0x10000) {
		fputc((int)(0xe0 | cp >> 12), f);
		fputc((int)(0x80 | ((cp >> 6) & 0x3f)), f);
		fputc((int)(0x80 | (cp & 0x3f)), f);
	} else {
		fputc((int)(0xf0 | cp >> 18), f);
		fputc((int)(0x80 | ((cp >> 12) & 0x3f)), f);
		fputc((int)(0x80 | ((cp >> 6) & 0x3f)), f);
		fputc((int)(0x80 | (cp & 0x3f)), f);
	}
}

static int parse_value(struct json *j);

static int parse_string(struct json *j)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (*j->p != '"')
		return -1;
	j->p++;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	for (;;) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '"') {
			j->p++;
			break;
		}
		if (c < 0x20) /* raw control characters (and the end) are not JSON */
			goto bad;
		if (c != '\\') {
			fputc(c, f);
			j->p++;
			continue;
		}
		j->p++;
		switch (*j->p++) {
		case '"': fputc('"', f); break;
		case '\\': fputc('\\', f); break;
		case '/': fputc('/', f); break;
		case 'b': fputc('\b', f); break;
		case 'f': fputc('\f', f); break;
		case 'n': fputc('\n', f); break;
		case 'r': fputc('\r', f); break;
		case 't': fputc('\t', f); break;
		case 'u': {
			unsigned cp, lo;

			if (hex4(j->p, &cp))
				goto bad;
			j->p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && j->p[0] == '\\' && j->p[1] == 'u' &&
			    !hex4(j->p + 2, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				j->p += 6;
			}
			put_utf8(f, cp);
			break;
		}
		default:
			goto bad;
		}
	}
	assert_int_equal(fclose(f), 0);
	j->strings = realloc(j->strings, (j->nstrings + 1) * sizeof(*j->strings));
	assert_non_null(j->strings);
	j->strings[j->nstrings++] = buf;
	return 0;
bad:
	fclose(f);
	free(buf);
	return -1;
}

static int parse_number(struct json *j)
{
	const char *s = j->p;

	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return -1;
	if (*s == '.') {
		if (*++s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	j->p = s;
	return 0;
}

static int parse_value(struct json *j)
{
	ws(j);
	switch (*j->p) {
	case '{':
		j->p++;
		ws(j);
		if (*j->p == '}')
			return j->p++, 0;
		for (;;) {
			ws(j);
			if (parse_string(j))
				return -1;
			ws(j);
			if (*j->p++ != ':' || parse_value(j))
				return -1;
			ws(j);
			if (*j->p == '}')
				return j->p++, 0;
			if (*j->p++ != ',')
				return -1;
		}
	case '[':
		j->p++;
		ws(j);
		if (*j->p == ']')
			return j->p++, 0;
		for (;;) {
			if (parse_value(j))
				return -1;
			ws(j);
			if (*j->p == ']')
				return j->p++, 0;
			if (*j->p++ != ',')
				return -1;
		}
	case '"':
		return parse_string(j);
	case 't':
		return strncmp(j->p, "true", 4) ? -1 : (j->p += 4, 0);
	case 'f':
		return strncmp(j->p, "false", 5) ? -1 : (j->p += 5, 0);
	case 'n':
		return strncmp(j->p, "null", 4) ? -1 : (j->p += 4, 0);
	default:
		return parse_number(j);
	}
}

/* Parses text as one JSON value (it must be nothing else) into j. */
static void parse_json(const char *text, struct json *j)
{
	memset(j, 0, sizeof(*j));
	j->p = text;
	assert_int_equal(parse_value(j), 0);
	ws(j);
	assert_int_equal(*j->p, '\0');
}

static bool has_string(const struct json *j, const char *s)
{
	for (size_t i = 0; i < j->nstrings; i++)
		if (!strcmp(j->strings[i], s))
			return true;
	return false;
}

static void free_json(struct json *j)
{
	for (size_t i = 0; i < j->nstrings; i++)
		free(j->strings[i]);
	free(j->strings);
}


#endif
