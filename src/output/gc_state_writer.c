// SPDX-License-Identifier: MIT
#include "output/gc_state_writer.h"

#include <inttypes.h>

#include "output/json_writer.h"

/* What gc.isenabled(), get_debug(), get_count(), get_threshold(),
 * get_stats() and gc.garbage say, read from outside. */
void lt_gc_state_write_text(FILE *out, const struct lt_py_gc_state *gc, int indent)
{
	fprintf(out, "%*sgc: automatic collection %s", indent, "",
		gc->enabled ? "enabled" : "DISABLED (gc.disable())");
	if (gc->debug)
		fprintf(out, ", debug flags 0x%x%s", gc->debug,
			gc->debug & 32 ? " (DEBUG_SAVEALL: every unreachable object kept in gc.garbage)" : "");
	fputc('\n', out);
	for (unsigned g = 0; g < LT_PY_GC_GENS; g++)
		fprintf(out, "%*s  generation %u: %" PRIu64 " of %" PRIu64 " to the next collection; %" PRIu64
			" collections, %" PRIu64 " collected, %" PRIu64 " uncollectable\n", indent, "", g,
			gc->gens[g].count, gc->gens[g].threshold, gc->gens[g].collections,
			gc->gens[g].collected, gc->gens[g].uncollectable);
	fprintf(out, "%*s  gc.garbage: %" PRIu64 " object%s", indent, "", gc->garbage,
		gc->garbage == 1 ? "" : "s");
	for (uint32_t i = 0; i < gc->ngarbage_types; i++)
		fprintf(out, "%s%s %" PRIu64, i ? ", " : " (", gc->garbage_types[i].name,
			gc->garbage_types[i].count);
	if (gc->ngarbage_types)
		fprintf(out, "%s)", gc->garbage_types_read < gc->garbage ? ", of the first ones read" : "");
	fputc('\n', out);
}

void lt_gc_state_write_json(FILE *out, const struct lt_py_gc_state *gc)
{
	if (!gc) {
		fputs("null", out);
		return;
	}
	fprintf(out, "{\"enabled\":%s,\"debug\":%u,\"generations\":[",
		gc->enabled ? "true" : "false", gc->debug);
	for (unsigned g = 0; g < LT_PY_GC_GENS; g++)
		fprintf(out, "%s{\"count\":%" PRIu64 ",\"threshold\":%" PRIu64 ",\"collections\":%" PRIu64
			",\"collected\":%" PRIu64 ",\"uncollectable\":%" PRIu64 "}", g ? "," : "",
			gc->gens[g].count, gc->gens[g].threshold, gc->gens[g].collections,
			gc->gens[g].collected, gc->gens[g].uncollectable);
	fprintf(out, "],\"garbage\":%" PRIu64 ",\"garbage_types_read\":%" PRIu64 ",\"garbage_types\":[",
		gc->garbage, gc->garbage_types_read);
	for (uint32_t i = 0; i < gc->ngarbage_types; i++) {
		fputs(i ? ",{\"type\":" : "{\"type\":", out);
		lt_json_string(out, gc->garbage_types[i].name);
		fprintf(out, ",\"objects\":%" PRIu64 "}", gc->garbage_types[i].count);
	}
	fputs("]}", out);
}
