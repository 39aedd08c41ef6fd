// SPDX-License-Identifier: MIT
/*
 * C++ demangling (demangle.h) of symbol names from traced processes' ELF
 * files: the input is one name.
 */
#include <stdint.h>

#include "fuzz_common.h"

#include "symbols/demangle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = fuzz_cstr(data, size), *out;

	if (!name)
		return 0;
	out = lt_demangle(name);
	fuzz_touch(out);
	free(out);
	free(name);
	return 0;
}
