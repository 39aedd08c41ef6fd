// SPDX-License-Identifier: MIT
/* C++ symbol demangling through the C++ runtime's own demangler. */
#include "symbols/demangle.h"

#include <stdlib.h>
#include <string.h>

/* abi::__cxa_demangle from libstdc++; it has C linkage. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *lt_demangle(const char *name)
{
	char *out;
	int status = 0;

	if (!name)
		return NULL;
	/* __cxa_demangle also accepts bare type names ("i" -> "int"); only symbols are wanted. */
	if (strncmp(name, "_Z", 2))
		return strdup(name);
	out = __cxa_demangle(name, NULL, NULL, &status);
	if (out && status == 0)
		return out;
	free(out);
	return strdup(name);
}
