// SPDX-License-Identifier: MIT
#include "attach/verifier_stats.h"

#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

/* Statistics only: "verification time N usec", "stack depth ...",
 * "processed N insns ...": well under this. A log that overflowed would
 * fail the load, so there is room to spare. */
#define LOG_BYTES (16 << 10)
#define LOG_LEVEL_STATS 4

struct program_log {
	const char *name;
	char log[LOG_BYTES];
	long usec;
	long insns;
};

struct lt_verifier_stats {
	struct program_log *v;
	size_t n;
};

struct lt_verifier_stats *lt_verifier_stats_request(struct bpf_object *obj)
{
	struct lt_verifier_stats *vs = calloc(1, sizeof(*vs));
	struct bpf_program *prog;
	size_t n = 0;

	if (!vs)
		return NULL;
	bpf_object__for_each_program(prog, obj)
		n++;
	vs->v = calloc(n ? n : 1, sizeof(*vs->v));
	if (!vs->v) {
		free(vs);
		return NULL;
	}
	bpf_object__for_each_program(prog, obj) {
		struct program_log *pl = &vs->v[vs->n++];

		pl->name = bpf_program__name(prog);
		bpf_program__set_log_buf(prog, pl->log, sizeof(pl->log));
		bpf_program__set_log_level(prog, LOG_LEVEL_STATS);
	}
	return vs;
}

static long number_after(const char *log, const char *label)
{
	const char *p = strstr(log, label);

	return p ? strtol(p + strlen(label), NULL, 10) : -1;
}

static int slowest_first(const void *a, const void *b)
{
	const struct program_log *x = a, *y = b;

	return (x->usec < y->usec) - (x->usec > y->usec);
}

void lt_verifier_stats_print(const struct lt_verifier_stats *vs, FILE *out)
{
	struct program_log *v;
	long total = 0;

	if (!vs || !vs->n)
		return;
	v = malloc(vs->n * sizeof(*v));
	if (!v)
		return;
	memcpy(v, vs->v, vs->n * sizeof(*v));
	for (size_t i = 0; i < vs->n; i++) {
		v[i].usec = number_after(v[i].log, "verification time ");
		v[i].insns = number_after(v[i].log, "processed ");
		if (v[i].usec > 0)
			total += v[i].usec;
	}
	qsort(v, vs->n, sizeof(*v), slowest_first);
	fprintf(out, "leaktrace: BPF programs verified in %.1f ms in all\n", total / 1000.0);
	for (size_t i = 0; i < vs->n; i++)
		if (v[i].usec >= 0)
			fprintf(out, "leaktrace: verified %s in %.1f ms (%ld instructions processed)\n",
				v[i].name, v[i].usec / 1000.0, v[i].insns);
	free(v);
}

void lt_verifier_stats_free(struct lt_verifier_stats *vs)
{
	if (!vs)
		return;
	free(vs->v);
	free(vs);
}
