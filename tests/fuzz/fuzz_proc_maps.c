// SPDX-License-Identifier: MIT
/*
 * /proc/PID/maps (proc_maps.h): the input is the text of a maps file, as a
 * process with odd file names (spaces, newlines, " (deleted)") makes it.
 * Parsed, searched at every mapping's edges and copied, as fork does.
 */
#include <stdint.h>

#include "fuzz_common.h"

#include "attach/proc_maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_maps maps, copy;
	const struct lt_mapping *m;

	if (lt_maps_parse((const char *)data, size, &maps))
		return 0;
	for (size_t i = 0; i < maps.n; i++) {
		if (maps.v[i].end <= maps.v[i].start)
			__builtin_trap(); /* parse promises non-empty ranges */
		fuzz_touch(maps.v[i].path);
		m = lt_maps_find(&maps, maps.v[i].start);
		if (!m || maps.v[i].start < m->start || maps.v[i].start >= m->end)
			__builtin_trap();
		lt_maps_find(&maps, maps.v[i].end - 1);
		lt_maps_find(&maps, maps.v[i].end);
		if (maps.v[i].start)
			lt_maps_find(&maps, maps.v[i].start - 1);
	}
	if (!lt_maps_copy(&maps, &copy)) {
		for (size_t i = 0; i < copy.n; i++)
			fuzz_touch(copy.v[i].path);
		lt_maps_free(&copy);
	}
	lt_maps_free(&maps);
	return 0;
}
