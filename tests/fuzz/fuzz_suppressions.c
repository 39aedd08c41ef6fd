// SPDX-License-Identifier: MIT
/*
 * Suppression files (suppressions.h): the input is a file, then, after a
 * NUL byte, frames to match it against, one a line as FUNC<tab>MODULE<tab>
 * FILE (a line starting with '+' is inlined into the next). Every rule's
 * pattern is also matched on its own against every frame string.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "fuzz_common.h"

#include "report/report_model.h"
#include "report/suppressions.h"

#define MAX_FRAMES 32

/* Splits text (modified) into frames; strings point into it. */
static uint32_t parse_frames(char *text, struct lt_report_frame *frames)
{
	uint32_t n = 0;
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line && n < MAX_FRAMES;
	     line = strtok_r(NULL, "\n", &save)) {
		struct lt_report_frame *f = &frames[n++];
		char *tab;

		memset(f, 0, sizeof(*f));
		if (*line == '+') {
			f->inlined = true;
			line++;
		}
		f->func = *line ? line : NULL;
		if ((tab = strchr(line, '\t'))) {
			*tab = '\0';
			f->module = tab[1] ? tab + 1 : NULL;
			if ((tab = strchr(tab + 1, '\t'))) {
				*tab = '\0';
				f->file = tab[1] ? tab + 1 : NULL;
			}
		}
		f->build_id = "";
	}
	return n;
}

/* Each line of the file, as written, against each string of each frame. */
static void match_raw(const char *file, const struct lt_report_frame *frames, uint32_t n)
{
	char *copy = strdup(file), *line, *save = NULL;

	if (!copy)
		return;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *colon = strchr(line, ':'), *pattern = colon ? colon + 1 : line;

		for (uint32_t i = 0; i < n; i++) {
			lt_supp_pattern_match(pattern, frames[i].func);
			lt_supp_pattern_match(pattern, frames[i].module);
			lt_supp_pattern_match(pattern, frames[i].file);
		}
		lt_supp_pattern_match(pattern, line);
		lt_supp_pattern_match(pattern, "");
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_report_frame frames[MAX_FRAMES];
	const uint8_t *nul = memchr(data, '\0', size);
	size_t file_len = nul ? (size_t)(nul - data) : size;
	char *file = fuzz_cstr(data, file_len), *rest = NULL;
	struct lt_suppressions *s = lt_suppressions_new();
	char err[256] = "";
	uint32_t n = 0;
	FILE *in;

	if (!file || !s)
		goto out;
	if (nul) {
		rest = fuzz_cstr(nul + 1, size - file_len - 1);
		if (!rest)
			goto out;
		n = parse_frames(rest, frames);
	}
	in = file_len ? fmemopen(file, file_len, "r") : NULL;
	if (in) {
		if (lt_suppressions_read(s, in, "fuzz", err, sizeof(err)) == -EINVAL &&
		    !err[0])
			__builtin_trap(); /* a refused line always says why */
		fclose(in);
	}
	lt_suppressions_count(s);
	lt_suppressions_match(s, frames, n);
	if (!lt_suppressions_add_defaults(s))
		lt_suppressions_match(s, frames, n);
	match_raw(file, frames, n);
out:
	lt_suppressions_free(s);
	free(rest);
	free(file);
	return 0;
}
