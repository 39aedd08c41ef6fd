// SPDX-License-Identifier: MIT
#include "html_json.h"
#include "json_writer.h"

#include <stdint.h>

void lt_html_json_chars(FILE *out, const char *str)
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
		case '<': case '>': case '&':
			fprintf(out, "\\u%04x", *s);
			s++;
			continue;
		}
		if (*s < 0x20 || *s == 0x7f) {
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
		if (cp == 0x2028 || cp == 0x2029)
			fprintf(out, "\\u%04x", cp);
		else
			fwrite(s, 1, (size_t)n, out);
		s += n;
	}
}

void lt_html_json_string(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	lt_html_json_chars(out, s);
	fputc('"', out);
}
