// SPDX-License-Identifier: MIT
#include "output/json_writer.h"

#include <math.h>
#include <stdint.h>

int lt_utf8_decode(const unsigned char *s, uint32_t *cp_out)
{
	int n;
	uint32_t cp;

	if (s[0] < 0x80) {
		if (cp_out)
			*cp_out = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	/* A NUL is not a continuation byte: the loop stops before the end. */
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	if (cp_out)
		*cp_out = cp;
	return n;
}

void lt_json_chars(FILE *out, const char *str, bool html_safe)
{
	const unsigned char *s = (const unsigned char *)str;

	while (s && *s) {
		uint32_t cp;
		int n;

		switch (*s) {
		case '"': fputs("\\\"", out); s++; continue;
		case '\\': fputs("\\\\", out); s++; continue;
		case '\n': fputs("\\n", out); s++; continue;
		case '\r': fputs("\\r", out); s++; continue;
		case '\t': fputs("\\t", out); s++; continue;
		}
		if (*s < 0x20 || (html_safe && (*s == '<' || *s == '>' || *s == '&' || *s == 0x7f))) {
			fprintf(out, "\\u%04x", *s);
			s++;
			continue;
		}
		n = lt_utf8_decode(s, &cp);
		if (!n) {
			fputs("\\ufffd", out);
			s++;
			continue;
		}
		/* Line terminators to JavaScript, though not to JSON. */
		if (html_safe && (cp == 0x2028 || cp == 0x2029))
			fprintf(out, "\\u%04x", cp);
		else
			fwrite(s, 1, (size_t)n, out);
		s += n;
	}
}

void lt_json_string(FILE *out, const char *str)
{
	if (!str) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	lt_json_chars(out, str, false);
	fputc('"', out);
}

void lt_json_double(FILE *out, double v)
{
	if (!isfinite(v))
		v = 0;
	fprintf(out, "%.6f", v);
}
