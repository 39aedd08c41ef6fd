// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "attach/kernel_caches.h"
#include "leaktrace_events.h"

struct name_case {
	uint32_t type;
	uint64_t size;
	const char *name;
};

/* As /proc/slabinfo names them. */
static const struct name_case cases[] = {
	{ LT_KMALLOC_NORMAL, 8, "kmalloc-8" },
	{ LT_KMALLOC_NORMAL, 96, "kmalloc-96" },
	{ LT_KMALLOC_NORMAL, 1024, "kmalloc-1k" },
	{ LT_KMALLOC_NORMAL, 8192, "kmalloc-8k" },
	{ LT_KMALLOC_CG, 64, "kmalloc-cg-64" },
	{ LT_KMALLOC_CG, 2048, "kmalloc-cg-2k" },
	{ LT_KMALLOC_RCL, 192, "kmalloc-rcl-192" },
	{ LT_KMALLOC_DMA, 512, "dma-kmalloc-512" },
};

static void names_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[LT_KCACHE_NAME_LEN];
		uint32_t type = 99;
		uint64_t size = 0;

		lt_kmalloc_cache_name(cases[i].type, cases[i].size, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].name);
		assert_int_equal(lt_kmalloc_cache_parse(cases[i].name, &type, &size), 0);
		assert_int_equal(type, cases[i].type);
		assert_int_equal(size, cases[i].size);
	}
}

static void large_and_others(void **state)
{
	char buf[LT_KCACHE_NAME_LEN];
	uint32_t type;
	uint64_t size;

	(void)state;
	lt_kmalloc_cache_name(LT_KMALLOC_LARGE, 16384, buf, sizeof(buf));
	assert_string_equal(buf, "kmalloc-large");
	/* Named caches, and names that only look like kmalloc's. */
	assert_int_equal(lt_kmalloc_cache_parse("filp", &type, &size), -EINVAL);
	assert_int_equal(lt_kmalloc_cache_parse("kmalloc-large", &type, &size), -EINVAL);
	assert_int_equal(lt_kmalloc_cache_parse("kmalloc-", &type, &size), -EINVAL);
	assert_int_equal(lt_kmalloc_cache_parse("kmalloc-64x", &type, &size), -EINVAL);
	assert_int_equal(lt_kmalloc_cache_parse("kmalloc-0", &type, &size), -EINVAL);
	assert_int_equal(lt_kmalloc_cache_parse("kmalloc_buckets", &type, &size), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_round_trip),
		cmocka_unit_test(large_and_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
