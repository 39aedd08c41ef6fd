// SPDX-License-Identifier: MIT
#include "output/html_json.h"
#include "output/json_writer.h"

void lt_html_json_chars(FILE *out, const char *s)
{
	lt_json_chars(out, s, true);
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
