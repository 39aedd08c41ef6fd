/* SPDX-License-Identifier: MIT */
/*
 * JSON strings that are safe inside an HTML <script> element: besides
 * being valid JSON (quotes, backslashes and control characters escaped,
 * invalid UTF-8 replaced by U+FFFD), they contain no '<', '>' or '&' (so
 * no "</script>" or "<!--" can end or upset the element) and no U+2028 or
 * U+2029; all of these are written as \uXXXX escapes.
 */
#ifndef LT_HTML_JSON_H
#define LT_HTML_JSON_H

#include <stdio.h>

/* s as a JSON string literal, quotes included; NULL writes null. */
void lt_html_json_string(FILE *out, const char *s);
/* The same without the quotes, to build one string from pieces. */
void lt_html_json_chars(FILE *out, const char *s);

#endif
