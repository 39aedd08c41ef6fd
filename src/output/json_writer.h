/* SPDX-License-Identifier: MIT */
/* Minimal JSON output helpers: correct string escaping and numbers. */
#ifndef LT_JSON_WRITER_H
#define LT_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence at s (NUL-terminated), 0 when it is
 * not one (overlong, surrogate, past U+10FFFF); its code point in *cp when
 * cp is not NULL. */
int lt_utf8_decode(const unsigned char *s, uint32_t *cp);

/* Writes s as a JSON string literal (quotes included); NULL writes null.
 * Bytes that are not valid UTF-8 are written as U+FFFD so output always parses. */
void lt_json_string(FILE *out, const char *s);
/* The same without the quotes (NULL writes nothing). html_safe also
 * escapes '<', '>', '&', DEL, U+2028 and U+2029, for a <script> element. */
void lt_json_chars(FILE *out, const char *s, bool html_safe);
/* A finite double with up to 6 decimals; non-finite values as 0. */
void lt_json_double(FILE *out, double v);

#endif
