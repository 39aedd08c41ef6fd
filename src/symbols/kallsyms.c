// SPDX-License-Identifier: MIT
#include "symbols/kallsyms.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow_array.h"

struct ksym {
	uint64_t addr;
	char *name;
	const char *module;
};

struct lt_kallsyms {
	struct ksym *v;
	size_t n, cap;
	char **modules; /* each module's name once; v[].module point here */
	size_t nmodules, modules_cap;
};

/* Past the last symbol, an address this far on is still taken as in it. */
#define LAST_SYMBOL_SPAN (1u << 20)

static const char vmlinux_name[] = "vmlinux";

static const char *module_name(struct lt_kallsyms *k, const char *name)
{
	char **grown;

	if (!name)
		return vmlinux_name;
	/* Lines come grouped by module: the last one is nearly always it. */
	for (size_t i = k->nmodules; i-- > 0;)
		if (!strcmp(k->modules[i], name))
			return k->modules[i];
	grown = lt_grow(k->modules, &k->modules_cap, k->nmodules + 1, sizeof(*grown));
	if (!grown)
		return NULL;
	k->modules = grown;
	k->modules[k->nmodules] = strdup(name);
	return k->modules[k->nmodules] ? k->modules[k->nmodules++] : NULL;
}

static int by_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

/* One line: "ADDR TYPE NAME" and " [MODULE]" for a module's. Code only. */
static int add_line(struct lt_kallsyms *k, char *line, bool *nonzero)
{
	char *type, *name, *mod, *end;
	struct ksym *grown;
	uint64_t addr;

	addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ')
		return 0;
	type = end + 1;
	if (!*type || type[1] != ' ' || !strchr("tTwW", *type))
		return 0;
	name = type + 2;
	name[strcspn(name, "\n")] = '\0';
	/* A module's symbols end in "\t[module]". */
	mod = strchr(name, '\t');
	if (mod) {
		*mod++ = '\0';
		if (*mod == '[') {
			mod++;
			mod[strcspn(mod, "]")] = '\0';
		} else {
			mod = NULL;
		}
	}
	if (addr)
		*nonzero = true;
	grown = lt_grow(k->v, &k->cap, k->n + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	k->v = grown;
	k->v[k->n].addr = addr;
	k->v[k->n].module = module_name(k, mod);
	k->v[k->n].name = strdup(name);
	if (!k->v[k->n].name || !k->v[k->n].module) {
		free(k->v[k->n].name);
		return -ENOMEM;
	}
	k->n++;
	return 0;
}

int lt_kallsyms_load(const char *path, struct lt_kallsyms **out)
{
	struct lt_kallsyms *k;
	bool nonzero = false;
	char line[512];
	FILE *f;
	int err = 0;

	*out = NULL;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	k = calloc(1, sizeof(*k));
	if (!k) {
		err = -ENOMEM;
		goto cleanup;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		/* A line cut by the buffer would lose its module: never this long. */
		if (!strchr(line, '\n') && !feof(f))
			continue;
		err = add_line(k, line, &nonzero);
	}
	if (!err && !nonzero)
		err = -EPERM;
	if (err)
		goto cleanup;
	qsort(k->v, k->n, sizeof(*k->v), by_addr);
	*out = k;
	k = NULL;
cleanup:
	lt_kallsyms_free(k);
	fclose(f);
	return err;
}

void lt_kallsyms_free(struct lt_kallsyms *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i].name);
	for (size_t i = 0; i < k->nmodules; i++)
		free(k->modules[i]);
	free(k->v);
	free(k->modules);
	free(k);
}

size_t lt_kallsyms_count(const struct lt_kallsyms *k)
{
	return k ? k->n : 0;
}

int lt_kallsyms_frame(const struct lt_kallsyms *k, uint64_t addr, struct lt_report_frame *f)
{
	size_t lo = 0, hi = k ? k->n : 0;

	memset(f, 0, sizeof(*f));
	f->addr = addr;
	f->build_id = "";
	/* The last symbol at or below addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || (lo == k->n && addr - k->v[lo - 1].addr > LAST_SYMBOL_SPAN))
		return 0;
	f->func = strdup(k->v[lo - 1].name);
	if (!f->func)
		return -ENOMEM;
	f->func_offset = addr - k->v[lo - 1].addr;
	f->module = k->v[lo - 1].module;
	f->module_offset = f->func_offset;
	return 0;
}

int lt_kallsyms_range(const struct lt_kallsyms *k, const char *name, uint64_t *lo, uint64_t *hi)
{
	for (size_t i = 0; k && i < k->n; i++) {
		if (strcmp(k->v[i].name, name))
			continue;
		*lo = k->v[i].addr;
		/* Aliases share an address: the end is the next one past it. */
		for (size_t j = i + 1; j < k->n; j++) {
			if (k->v[j].addr > *lo) {
				*hi = k->v[j].addr;
				return 0;
			}
		}
		*hi = *lo + LAST_SYMBOL_SPAN;
		return 0;
	}
	return -ENOENT;
}
