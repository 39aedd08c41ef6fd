// SPDX-License-Identifier: MIT
#include "attach/kernel_caches.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leaktrace_events.h"

static const char *const prefixes[] = {
	[LT_KMALLOC_NORMAL] = "kmalloc-",
	[LT_KMALLOC_CG] = "kmalloc-cg-",
	[LT_KMALLOC_RCL] = "kmalloc-rcl-",
	[LT_KMALLOC_DMA] = "dma-kmalloc-",
};

void lt_kmalloc_cache_name(uint32_t kmalloc_type, uint64_t size_bytes, char *buf, size_t len)
{
	if (kmalloc_type >= sizeof(prefixes) / sizeof(prefixes[0])) {
		snprintf(buf, len, "kmalloc-large");
		return;
	}
	/* The kernel names the caches of whole KiB by KiB. */
	if (size_bytes >= 1024 && size_bytes % 1024 == 0)
		snprintf(buf, len, "%s%luk", prefixes[kmalloc_type],
			 (unsigned long)(size_bytes / 1024));
	else
		snprintf(buf, len, "%s%lu", prefixes[kmalloc_type], (unsigned long)size_bytes);
}

int lt_kmalloc_cache_parse(const char *name, uint32_t *kmalloc_type, uint64_t *size_bytes)
{
	/* Longest prefix first: "kmalloc-" also starts the others. */
	static const uint32_t order[] = { LT_KMALLOC_CG, LT_KMALLOC_RCL, LT_KMALLOC_DMA,
					  LT_KMALLOC_NORMAL };

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *prefix = prefixes[order[i]];
		size_t n = strlen(prefix);
		unsigned long v;
		char *end;

		if (strncmp(name, prefix, n) || name[n] < '0' || name[n] > '9')
			continue;
		errno = 0;
		v = strtoul(name + n, &end, 10);
		if (errno || v == 0)
			return -EINVAL;
		if (*end == 'k') {
			v *= 1024;
			end++;
		}
		if (*end)
			return -EINVAL;
		*kmalloc_type = order[i];
		*size_bytes = v;
		return 0;
	}
	return -EINVAL;
}
